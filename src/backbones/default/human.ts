/**
 * Face and body-pose models shipped with the npm package @vladmandic/human (MIT), run on the
 * shared tfjs-wasm instance, weights read from node_modules (never fetched).
 *
 * - faces: human's pipeline with BlazeFace (detector) + its 7-class emotion model (64×64 grey
 *   face crops). `detector.scale = 1` keeps the box tight around the face: the emotion model then
 *   sees the face itself, which on our test clips gives much cleaner expressions than the
 *   default (1.4, a crop meant for the face mesh).
 * - pose: MoveNet SinglePose Lightning called directly (input 192×192 int32, output y,x,score
 *   for 17 COCO keypoints), letterboxed so keypoints map back to the frame.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DfanError } from '../../errors.js';
import type { Frame } from '../../video/types.js';
import { cachedConversion, convertedPath } from '../cache.js';
import { type ConstTensor, type TfNode, tfGraphToOnnx } from '../convert/tfgraph2onnx.js';
import { writeOnnx } from '../onnx-writer.js';
import { fitFrame, fitGeometry } from '../preprocess.js';
import { FACE_EXPRESSIONS } from '../streams.js';
import { initTfjs, loadGraphModel } from '../tfjs.js';
import { packageDir, packageVersion } from './pkg.js';

/** Folder of the models that @vladmandic/human ships. */
export function humanModelsDir(): string {
  return join(packageDir('@vladmandic/human'), 'models');
}

export function humanVersion(): string {
  return packageVersion('@vladmandic/human');
}

/**
 * One of human's tfjs graph models as the ONNX converter's input: its nodes, its weights by name,
 * and a key over the graph, the weights and the converter version (names the cached conversion).
 */
export async function readHumanGraph(
  model: string,
  converterVersion: number,
): Promise<{ nodes: TfNode[]; consts: Map<string, ConstTensor>; key: string }> {
  const tf = await initTfjs();
  const file = join(humanModelsDir(), `${model}.json`);
  const json = JSON.parse(readFileSync(file, 'utf8')) as {
    modelTopology: { node: TfNode[] };
    weightsManifest: { paths: string[]; weights: import('@tensorflow/tfjs').io.WeightsManifestEntry[] }[];
  };
  const all = Buffer.concat(
    json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(humanModelsDir(), p)))),
  );
  const h = createHash('sha256').update(readFileSync(file)).update(all).update(`v${converterVersion}`);
  const named = tf.io.decodeWeights(
    all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    json.weightsManifest.flatMap((g) => g.weights),
  );
  const consts = new Map<string, ConstTensor>();
  for (const [k, t] of Object.entries(named)) {
    consts.set(k, { shape: t.shape, data: t.dataSync() as Float32Array | Int32Array });
    t.dispose();
  }
  return { nodes: json.modelTopology.node, consts, key: h.digest('hex').slice(0, 16) };
}

/** What to cut out of one of human's graphs, and how its converted file is named. */
export interface HumanConversion {
  /** the converter version (bump when the converted graph changes: it names the cache file) */
  version: number;
  /** node names the ONNX graph outputs, in order (`output_0`, `output_1`, …) */
  outputs: string[];
  /** cache file stem, e.g. `human-centernet-backbone` */
  file: string;
  /** ONNX graph name */
  graph: string;
  /** what was converted, for the model's doc string */
  what: string;
}

/**
 * One of human's graphs converted to ONNX up to `c.outputs` (cached in `<cache>/converted/`), and
 * the graph's constants (some decoders need them).
 */
export async function convertedHumanGraph(
  model: string,
  c: HumanConversion,
  cacheDir?: string,
): Promise<{ bytes: Uint8Array; consts: Map<string, ConstTensor> }> {
  const g = await readHumanGraph(model, c.version);
  const file = convertedPath(`${c.file}-${humanVersion()}-${g.key}.onnx`, cacheDir);
  const { bytes } = await cachedConversion(file, () => {
    const graph = tfGraphToOnnx(g.nodes, g.consts, c.outputs, c.graph);
    graph.doc = `converted by dfan tfgraph2onnx v${c.version} from @vladmandic/human ${humanVersion()} (MIT) ${c.what}`;
    return writeOnnx(graph);
  });
  return { bytes, consts: g.consts };
}

export interface FaceDetection {
  /** detector confidence 0..1 */
  score: number;
  /** x, y, w, h in [0,1] of the frame, clipped to it */
  box: [number, number, number, number];
  /** FACE_EXPRESSIONS order: angry, disgust, fear, happy, sad, surprise, neutral */
  expressions: number[];
}

interface HumanFace {
  score: number;
  boxScore?: number;
  boxRaw: [number, number, number, number];
  emotion?: { score: number; emotion: string }[];
}
interface HumanLike {
  load(): Promise<void>;
  detect(input: unknown, config?: unknown): Promise<{ face: HumanFace[]; error?: string | null }>;
}

let humanPromise: Promise<HumanLike> | undefined;

/** human's fetch of `file://` model URLs, served from disk (its node-wasm build only fetches). */
async function withFileFetch<T>(fn: () => Promise<T>): Promise<T> {
  const orig = globalThis.fetch;
  globalThis.fetch = (async (u: string | URL | Request, o?: RequestInit) => {
    const s = typeof u === 'string' ? u : u instanceof URL ? u.href : u.url;
    if (s.startsWith('file://'))
      return new Response(new Uint8Array(await readFile(new URL(s))), { status: 200 });
    return orig(u, o);
  }) as typeof fetch;
  try {
    return await fn();
  } finally {
    globalThis.fetch = orig;
  }
}

export function loadHuman(): Promise<HumanLike> {
  humanPromise ??= (async () => {
    await initTfjs();
    // the package's "exports" map lacks "./" on its subpaths, so import the node-wasm build by path
    const file = join(packageDir('@vladmandic/human'), 'dist', 'human.node-wasm.js');
    const mod = (await import(pathToFileURL(file).href)) as {
      Human?: unknown;
      default?: { Human?: unknown };
    };
    const Ctor = (mod.Human ?? mod.default?.Human) as new (c: unknown) => HumanLike;
    const human = new Ctor({
      backend: 'wasm',
      modelBasePath: `${pathToFileURL(humanModelsDir()).href}/`,
      debug: false,
      warmup: 'none',
      cacheSensitivity: 0,
      filter: { enabled: false },
      face: {
        enabled: true,
        detector: { rotation: false, maxDetected: 5, minConfidence: 0.3, scale: 1.0, return: false },
        // the mesh validates detections: without it BlazeFace finds "faces" in lettering (no_face.mp4)
        mesh: { enabled: true },
        iris: { enabled: false },
        description: { enabled: false },
        emotion: { enabled: true, minConfidence: 0 },
        antispoof: { enabled: false },
        liveness: { enabled: false },
        attention: { enabled: false },
        gear: { enabled: false },
      },
      body: { enabled: false },
      hand: { enabled: false },
      object: { enabled: false },
      gesture: { enabled: false },
      segmentation: { enabled: false },
    });
    await withFileFetch(() => human.load());
    return human;
  })();
  return humanPromise;
}

/**
 * human keeps per-call state and tfjs-wasm is single-threaded: calls from concurrent extractions
 * (a worker runs several videos at once) are queued, never interleaved.
 */
let queue: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

/** Faces in one frame, most prominent first (largest box × confidence). */
export function detectFaces(frame: Frame): Promise<FaceDetection[]> {
  return serial(() => detectFacesNow(frame));
}

async function detectFacesNow(frame: Frame): Promise<FaceDetection[]> {
  const tf = await initTfjs();
  const human = await loadHuman();
  const t = tf.tensor3d(frame.data, [frame.height, frame.width, 3], 'int32');
  let res: Awaited<ReturnType<HumanLike['detect']>>;
  try {
    res = await human.detect(t);
  } finally {
    t.dispose();
  }
  if (res.error) throw new DfanError('INTERNAL', `face detection failed: ${res.error}`);
  const faces = res.face.map((f): FaceDetection => {
    const [x, y, w, h] = f.boxRaw;
    const x0 = Math.max(0, Math.min(1, x));
    const y0 = Math.max(0, Math.min(1, y));
    const x1 = Math.max(0, Math.min(1, x + w));
    const y1 = Math.max(0, Math.min(1, y + h));
    const expressions = FACE_EXPRESSIONS.map((e) => f.emotion?.find((q) => q.emotion === e)?.score ?? 0);
    const s = expressions.reduce((a, b) => a + b, 0);
    return {
      score: f.boxScore ?? f.score,
      box: [x0, y0, x1 - x0, y1 - y0],
      expressions: s > 0 ? expressions.map((v) => v / s) : expressions,
    };
  });
  const prominence = (f: FaceDetection) => f.box[2] * f.box[3] * f.score;
  return faces.sort((a, b) => prominence(b) - prominence(a));
}

// ---------------------------------------------------------------- pose

/** 17 COCO keypoints: y, x in [0,1] of the frame, score. */
export interface Pose {
  keypoints: Float32Array; // [17, 3] (x, y, score)
}
export const POSE_KEYPOINTS = 17;
const MOVENET_SIZE = 192;

let movenetPromise: Promise<import('@tensorflow/tfjs').GraphModel> | undefined;

function loadMovenet(): Promise<import('@tensorflow/tfjs').GraphModel> {
  movenetPromise ??= loadGraphModel(join(humanModelsDir(), 'movenet-lightning.json'));
  return movenetPromise;
}

/** MoveNet Lightning on one frame: keypoints as x, y in [0,1] of the frame and their scores. */
export function estimatePose(frame: Frame): Promise<Pose> {
  return serial(() => estimatePoseNow(frame));
}

async function estimatePoseNow(frame: Frame): Promise<Pose> {
  const tf = await initTfjs();
  const model = await loadMovenet();
  const g = fitGeometry(frame.width, frame.height, MOVENET_SIZE, MOVENET_SIZE, 'letterbox');
  const img = fitFrame(frame, MOVENET_SIZE, MOVENET_SIZE, 'letterbox');
  const x = tf.tensor4d(Int32Array.from(img.data), [1, MOVENET_SIZE, MOVENET_SIZE, 3], 'int32');
  let out: Float32Array;
  try {
    const y = model.execute(x) as import('@tensorflow/tfjs').Tensor;
    out = (await y.data()) as Float32Array;
    y.dispose();
  } finally {
    x.dispose();
  }
  const kp = new Float32Array(POSE_KEYPOINTS * 3);
  for (let k = 0; k < POSE_KEYPOINTS; k++) {
    const py = out[k * 3] * MOVENET_SIZE;
    const px = out[k * 3 + 1] * MOVENET_SIZE;
    kp[k * 3] = Math.max(0, Math.min(1, (px - g.dx) / g.dw));
    kp[k * 3 + 1] = Math.max(0, Math.min(1, (py - g.dy) / g.dh));
    kp[k * 3 + 2] = out[k * 3 + 2];
  }
  return { keypoints: kp };
}
