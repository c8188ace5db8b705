/**
 * Python for the interop tests: DFAN_PYTHON, else Debian's /usr/bin/python3 (where .ci/run
 * installs python3-numpy, and where python3-torch lives). Tests skip when it lacks a module.
 */
import { spawnSync } from 'node:child_process';

export const PYTHON = process.env.DFAN_PYTHON ?? '/usr/bin/python3';

/** A skip reason when PYTHON cannot import every one of `modules` (`apt` names the packages), else false. */
export function needPython(modules: string[], apt: string): string | false {
  const r = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
  return r.status === 0
    ? false
    : `skipped: ${PYTHON} cannot import ${modules.join(', ')} (apt-get install ${apt})`;
}
