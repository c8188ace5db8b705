/**
 * A predict worker process (forked by src/app/pool.ts): keeps one warm PredictEngine and answers
 * jobs over IPC, so the server's own thread stays free for HTTP while the models run, and two
 * jobs really run on two cores.
 *
 * parent → child: { type: 'init', model, pack?, warm } | { type: 'job', id, file, name }
 * child → parent: { type: 'ready', descriptor } | { type: 'init-error', message }
 *               | { type: 'progress', id, stage, fraction } | { type: 'done', id, result }
 *               | { type: 'error', id, message }
 */
import { describeError } from '../errors.js';
import { PredictEngine } from './predict.js';

type Msg =
  | { type: 'init'; model: string; pack?: string; warm: boolean }
  | { type: 'job'; id: string; file: string; name: string };

let engine: PredictEngine | null = null;
const send = (m: unknown) => process.send?.(m);

process.on('message', (m: Msg) => {
  void (async () => {
    if (m.type === 'init') {
      try {
        engine = await PredictEngine.create({ model: m.model, pack: m.pack });
        if (m.warm) {
          const { warmUp } = await import('./serve.js');
          await engine.warm();
          await warmUp(engine);
        }
        send({ type: 'ready', descriptor: engine.predictor.descriptor });
      } catch (e) {
        send({ type: 'init-error', message: describeError(e) });
      }
      return;
    }
    if (m.type === 'job') {
      try {
        if (!engine) throw new Error('worker not initialised');
        const result = await engine.predictFile(m.file, {
          name: m.name,
          onProgress: (stage, fraction) => send({ type: 'progress', id: m.id, stage, fraction }),
        });
        send({ type: 'done', id: m.id, result });
      } catch (e) {
        send({ type: 'error', id: m.id, message: describeError(e) });
      }
    }
  })();
});

// Ctrl-C reaches the whole process group: the server shuts its workers down itself (disconnect)
process.on('SIGINT', () => {});

process.on('disconnect', () => {
  void (engine?.dispose() ?? Promise.resolve()).finally(() => process.exit(0));
});
