/**
 * The reproducibility section (spec 9.4 §3), filled automatically: git commit/message/dirty,
 * Node/tfjs/package versions, engine backend, seed and date of the run, machine, and the
 * command that reproduces the run (from its training_config.json when recorded).
 */
import { envSnapshot } from '../core/environment';
import { engineInfo, initEngine } from '../engine/index';
import { configValue, type RunArtifacts } from './run_artifacts';

export interface ReproRow {
  key: string;
  value: string;
}

/** The reproducibility rows (git, versions, engine, seed, date, machine) and the command that reproduces `run`. */
export async function reproducibility(run: RunArtifacts | null): Promise<{ rows: ReproRow[]; command: string | null }> {
  await initEngine({ quiet: true });
  const e = engineInfo();
  const snap = envSnapshot(
    e ? { backend: e.backend, opsPath: e.opsPath, threads: e.threads, versions: e.versions } : null,
  );
  const runEnv = run ? ((run.config.environment ?? run.config.env) as Record<string, unknown> | undefined) : undefined;
  const runGit = (runEnv?.git ?? run?.config.git) as { commit?: string; dirty?: boolean } | undefined;
  const rows: ReproRow[] = [
    {
      key: 'git commit (now)',
      value: `${snap.git.commit ?? 'not a git checkout'}${snap.git.dirty ? ' (uncommitted changes)' : ''}`,
    },
    { key: 'git message', value: snap.git.message ?? '—' },
  ];
  if (run) {
    rows.push({
      key: 'git commit (run)',
      value: runGit?.commit
        ? `${runGit.commit}${runGit.dirty ? ' (dirty)' : ''}`
        : String(configValue(run, 'git_commit') ?? '— (not recorded)'),
    });
    rows.push({
      key: 'random seed (run)',
      value: String(configValue(run, 'seed') ?? run.testCases?.seed ?? '— (not recorded)'),
    });
    rows.push({ key: 'run date', value: String(run.config.timestamp ?? run.config.date ?? '—') });
  }
  rows.push(
    { key: 'node', value: snap.node },
    { key: 'vmat-lab', value: snap.vmatLab },
    {
      key: 'engine',
      value: snap.engine ? `${snap.engine.backend} (ops: ${snap.engine.opsPath}, threads ${snap.engine.threads})` : '—',
    },
    ...Object.entries(snap.packages)
      .filter(([, v]) => v)
      .map(([k, v]) => ({ key: k, value: String(v) })),
    { key: 'platform', value: snap.platform },
    { key: 'cpu', value: `${snap.cpu} × ${snap.cores}` },
    { key: 'memory', value: `${snap.memoryGb} GiB` },
    { key: 'notebook executed', value: snap.date },
  );
  const cmd = run ? (configValue(run, 'command') ?? configValue(run, 'argv')) : undefined;
  const command = Array.isArray(cmd) ? cmd.join(' ') : typeof cmd === 'string' ? cmd : null;
  return { rows, command };
}
