// Builds dist/ once (each test file then runs install.sh with SKIP_BUILD=1 into its own PREFIX)
// and refuses to start a MistServer outside isolated.sh, where it would collide with any other.
import { spawnSync } from 'node:child_process';
import { REPO } from './harness';

export default function setup(): void {
  const lo = spawnSync('ip', ['-o', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' }).stdout ?? '';
  if (!lo.includes('198.18.0.1')) {
    throw new Error('the real-server layer must run inside ../shared/mistserver/isolated.sh: use `npm run test:real`');
  }
  // scripts/test-real.sh builds once before running each file in its own namespace.
  if (process.env.REAL_MIST_BUILT === '1') return;
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stderr}${build.stdout}`);
}
