import { readdirSync, readFileSync } from 'node:fs';

/**
 * Running MistController processes (not root) that lack the group: started before install.sh
 * added their user to it, they keep their old groups and their triggers cannot write.
 */
export function staleMistProcesses(gid: number): number[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  const stale: number[] = [];
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'MistController') continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const groups = (/^Groups:(.*)$/m.exec(status)?.[1] ?? '').trim().split(/\s+/).map(Number);
      const primary = Number(/^Gid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
      if (uid !== 0 && primary !== gid && !groups.includes(gid)) stale.push(Number(pid));
    } catch {
      // the process ended meanwhile
    }
  }
  return stale;
}
