// Every bad-usage case of every command exits 64 with one clear line on stderr and nothing on
// stdout (docs/cli.md, "Exit codes"; issue 18 tried 24 of them). Table-driven, in process
// (bin/cli.ts's main, as bin/chatsim.js calls it) so the table stays quick; the last test
// runs a few through the real binary to show the two agree.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli.ts';

const bin = new URL('../../bin/chatsim.js', import.meta.url).pathname;
const tiny = new URL('../fixtures/tiny.yaml', import.meta.url).pathname;
const tinyText = readFileSync(tiny, 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'chatsim-usage-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const f = {
  typo: '', phonse: '', aFile: '', invalidYaml: '', notMapping: '', badThreshold: '', badEnum: '', badBug: '', badDuration: '', notARun: '', notSummary: '', shortSecret: '', emptyDir: '',
};

beforeAll(() => {
  f.typo = file('typo.yaml', tinyText.replace('  friendsPerUser: 3', '  friendsPerUser: 3\n  usres: 4'));
  f.phonse = file('phonse.yaml', tinyText.replace('durationMs: 4s', 'phonse: 300\ndurationMs: 4s'));
  f.invalidYaml = file('invalid.yaml', 'name: t\npopulation: { users: 3\n');
  f.notMapping = file('list.yaml', '- a\n- b\n');
  f.badThreshold = file('threshold.yaml', tinyText.replace('"sendToAck p(99) < 10s"', '"sendToAck p(99) <<< soon"'));
  f.badEnum = file('enum.yaml', tinyText.replace('profile: good-4g', 'profile: good-4G'));
  f.badBug = file('bug.yaml', `${tinyText}bugs: [no-such-bug]\n`);
  f.badDuration = file('duration.yaml', tinyText.replace('durationMs: 4s', 'durationMs: 4 seconds'));
  f.notSummary = file('not-summary.json', '{"hello": 1}\n');
  f.shortSecret = file('short-secret', 'short\n');
  f.aFile = file('a-file', 'not a directory\n');
  f.emptyDir = join(dir, 'empty-run');
  mkdirSync(f.emptyDir);
  f.notARun = f.emptyDir;
});

/** [what, argv after `chatsim`, environment, what the one line must say]. */
type Case = [string, () => string[], Record<string, string>, RegExp];
const noEnv = {};
const CASES: Case[] = [
  // the program
  ['unknown command', () => ['frobnicate'], noEnv, /unknown command 'frobnicate'/],
  ['unknown global flag', () => ['--frob'], noEnv, /unknown option '--frob'/],
  // run
  ['run: no scenario', () => ['run'], noEnv, /missing required argument 'scenario'/],
  ['run: unknown flag', () => ['run', tiny, '--sead', '3'], noEnv, /^chatsim: unknown option '--sead'; did you mean --seed\?$/],
  ['run: two scenarios', () => ['run', tiny, tiny], noEnv, /too many arguments/],
  ['run: seed not a number', () => ['run', tiny, '--seed', 'abc'], noEnv, /--seed.*expected an integer, got abc/],
  ['run: seed not an integer', () => ['run', tiny, '--seed', '1.5'], noEnv, /expected an integer, got 1\.5/],
  ['run: phones 0', () => ['run', tiny, '--phones', '0'], noEnv, /--phones.*expected a positive integer, got 0/],
  ['run: phones not a number', () => ['run', tiny, '--phones', 'lots'], noEnv, /--phones.*lots/],
  ['run: bad duration unit', () => ['run', tiny, '--duration', '2x'], noEnv, /--duration.*2x/],
  ['run: negative duration', () => ['run', tiny, '--duration', '-5s'], noEnv, /--duration.*-5s/],
  ['run: bad heal', () => ['run', tiny, '--heal', 'soon'], noEnv, /--heal.*soon/],
  ['run: bad engine', () => ['run', tiny, '--engine', 'fast'], noEnv, /--engine.*expected live or sim, got fast/],
  ['run: bad processes', () => ['run', tiny, '--processes', 'many'], noEnv, /--processes.*expected single or multi/],
  ['run: bad checks', () => ['run', tiny, '--checks', 'some'], noEnv, /--checks.*expected core or all/],
  ['run: workers 0', () => ['run', tiny, '--workers', '0'], noEnv, /--workers.*positive integer/],
  ['run: unknown --out kind', () => ['run', tiny, '--out', 'xml=a.xml'], noEnv, /--out unknown output kind "xml"/],
  ['run: --out json without a file', () => ['run', tiny, '--out', 'json='], noEnv, /--out json= needs a file name/],
  ['run: --out prometheus bad port', () => ['run', tiny, '--out', 'prometheus=:99999'], noEnv, /--out prometheus= needs \[HOST\]:PORT/],
  ['run: --out json= a directory', () => ['run', tiny, '--out', `json=${dir}`], noEnv, /--out json=.*: cannot write it: EISDIR/],
  ['run: --out csv= a directory', () => ['run', tiny, '--out', `csv=${dir}`], noEnv, /--out csv=.*: cannot write it: EISDIR/],
  ['run: --dir is a file', () => ['run', tiny, '--dir', f.aFile], noEnv, /--dir .*a-file: not a directory/],
  ['run: --dir under a file', () => ['run', tiny, '--dir', join(f.aFile, 'run')], noEnv, /--dir .*a-file\/run: not a directory/],
  ['run: --out DIR with --dir', () => ['run', tiny, '--dir', join(dir, 'a'), '--out', join(dir, 'b')], noEnv, /a run directory is given by --dir/],
  ['run: missing scenario file', () => ['run', join(dir, 'nope.yaml')], noEnv, /nope\.yaml: no such file/],
  ['run: scenario is a directory', () => ['run', dir], noEnv, /is a directory, not a scenario file/],
  ['run: invalid YAML', () => ['run', f.invalidYaml], noEnv, /invalid\.yaml:\d+:\d+: YAML: /],
  ['run: YAML not a mapping', () => ['run', f.notMapping], noEnv, /a scenario is a YAML mapping/],
  ['run: unknown scenario key', () => ['run', f.typo], noEnv, /typo\.yaml:\d+:3: population\.usres: unknown field; did you mean "users"\?/],
  ['run: phones in the file, misspelt', () => ['run', f.phonse], noEnv, /phonse\.yaml:\d+:1: phonse: unknown field; did you mean "phones"\? A scenario has no phones field/],
  ['run: bad enum value', () => ['run', f.badEnum], noEnv, /enum\.yaml:\d+:\d+: network\[0\]\.profile: must be one of .*did you mean "good-4g"\?/],
  ['run: bad duration in the file', () => ['run', f.badDuration], noEnv, /duration\.yaml:\d+:\d+: durationMs: must be a duration/],
  ['run: bad threshold expression', () => ['run', f.badThreshold], noEnv, /threshold\.yaml:\d+:\d+: thresholds\[0\]: /],
  ['run: unknown bug in the file', () => ['run', f.badBug], noEnv, /bug\.yaml:\d+:\d+: bugs\[0\]: unknown bug "no-such-bug"/],
  ['run: unknown --inject-bug', () => ['run', tiny, '--inject-bug', 'sync-off-by-on'], noEnv, /bugs\[0\]: unknown bug "sync-off-by-on"; did you mean "sync-off-by-one"\?/],
  ['run: sim engine with a target', () => ['run', tiny, '--engine', 'sim', '--target', 'http://127.0.0.1:9'], noEnv, /--engine sim .* cannot load a --target/],
  ['run: target not a URL', () => ['run', tiny, '--target', 'localhost'], noEnv, /target\.httpUrl: /],
  ['run: missing admin token file', () => ['run', tiny, '--target', 'http://127.0.0.1:9', '--admin-token-file', join(dir, 'no-token')], noEnv, /cannot read the admin token file/],
  ['run: admin token too short', () => ['run', tiny, '--target', 'http://127.0.0.1:9', '--admin-token-file', f.shortSecret], noEnv, /admin token/],
  ['run: bad --redis', () => ['run', tiny, '--redis', 'http://x'], noEnv, /cluster\.redis: /],
  ['run: bad --cassandra', () => ['run', tiny, '--cassandra', '127.0.0.1:99999'], noEnv, /cluster\.cassandra: must be HOST:PORT/],
  ['run: missing baseline', () => ['run', tiny, '--baseline', join(dir, 'no-baseline')], noEnv, /--baseline .*not a run directory or summary\.json/],
  ['run: baseline not a summary', () => ['run', tiny, '--baseline', f.notSummary], noEnv, /--baseline .*is not a chatsim summary\.json/],
  ['run: CHATSIM_SEED not a number', () => ['run', tiny], { CHATSIM_SEED: 'abc' }, /CHATSIM_SEED=abc: expected an integer/],
  ['run: CHATSIM_DURATION bad', () => ['run', tiny], { CHATSIM_DURATION: '3 weeks' }, /CHATSIM_DURATION=3 weeks: /],
  ['run: CHATSIM_QUIET bad', () => ['run', tiny], { CHATSIM_QUIET: 'maybe' }, /CHATSIM_QUIET=maybe: expected 1\/true\/yes/],
  // check
  ['check: no run dir', () => ['check'], noEnv, /missing required argument 'run-dir'/],
  ['check: not a run', () => ['check', f.notARun], noEnv, /chatsim check: .*run\.json/],
  ['check: unknown flag', () => ['check', f.notARun, '--cor'], noEnv, /unknown option '--cor'/],
  // compare
  ['compare: one path', () => ['compare', f.notSummary], noEnv, /missing required argument 'run'/],
  ['compare: not a run', () => ['compare', join(dir, 'x'), join(dir, 'y')], noEnv, /chatsim compare: .*not a run directory or summary\.json/],
  ['compare: not a summary', () => ['compare', f.notSummary, f.notSummary], noEnv, /is not a chatsim summary\.json/],
  // sim
  ['sim: seeds 0', () => ['sim', '--seeds', '0'], noEnv, /--seeds.*positive integer/],
  ['sim: seeds over the limit', () => ['sim', '--seeds', '100001'], noEnv, /--seeds 100001 is over the limit of 100000/],
  ['sim: from not a number', () => ['sim', '--from', 'x'], noEnv, /--from.*expected an integer/],
  ['sim: unknown bug', () => ['sim', '--inject-bug', 'sync-off-by-on'], noEnv, /unknown bug sync-off-by-on; did you mean "sync-off-by-one"\?/],
  ['sim: --out is a file', () => ['sim', '--seeds', '1', '--out', f.aFile], noEnv, /chatsim sim: --out .*a-file: not a directory/],
  ['sim: an argument', () => ['sim', 'extra'], noEnv, /too many arguments/],
  // shrink
  ['shrink: no run dir', () => ['shrink'], noEnv, /missing required argument 'run-dir'/],
  ['shrink: not a run', () => ['shrink', f.notARun], noEnv, /chatsim shrink: NOT_A_RUN: /],
  ['shrink: runs 0', () => ['shrink', f.notARun, '--runs', '0'], noEnv, /--runs.*positive integer/],
  ['shrink: --out is a file', () => ['shrink', f.notARun, '--out', f.aFile], noEnv, /chatsim shrink: --out .*a-file: not a directory/],
  ['shrink: unknown property', () => ['shrink', f.notARun, '--property', 'A55'], noEnv, /--property.*unknown property A55/],
  // serve
  ['serve: gateways not a number', () => ['serve', '--gateways', 'many'], noEnv, /--gateways.*expected a positive integer, got many/],
  ['serve: chat servers 0', () => ['serve', '--chat-servers', '0'], noEnv, /--chat-servers.*positive integer/],
  ['serve: port out of range', () => ['serve', '--port', '70000'], noEnv, /--port.*expected a port number/],
  ['serve: presence debounce 0', () => ['serve', '--presence-debounce-ms', '0'], noEnv, /--presence-debounce-ms.*positive integer/],
  ['serve: cassandra without redis', () => ['serve', '--cassandra', '127.0.0.1:9042'], noEnv, /--cassandra needs --redis/],
  ['serve: redis not a URL', () => ['serve', '--redis', 'http://x'], noEnv, /--redis takes a redis:\/\/ URL/],
  ['serve: cassandra not HOST:PORT', () => ['serve', '--redis', 'redis://127.0.0.1:1', '--cassandra', '127.0.0.1:99999'], noEnv, /--cassandra takes HOST:PORT/],
  ['serve: bad keyspace', () => ['serve', '--redis', 'redis://127.0.0.1:1', '--keyspace', '1-bad'], noEnv, /--keyspace.*keyspace name/],
  ['serve: missing secret file', () => ['serve', '--token-secret-file', join(dir, 'no-secret')], noEnv, /cannot read the token secret file/],
  ['serve: secret too short', () => ['serve', '--token-secret-file', f.shortSecret], noEnv, /token secret/],
  ['serve: CHATSIM_ADMIN_TOKEN too short', () => ['serve'], { CHATSIM_ADMIN_TOKEN: 'short' }, /CHATSIM_ADMIN_TOKEN/],
  // schema, bugs
  ['schema: unknown subcommand', () => ['schema', 'drop'], noEnv, /unknown command 'drop'/],
  ['schema apply: bad cassandra', () => ['schema', 'apply', '--cassandra', '127.0.0.1:99999'], noEnv, /--cassandra.*expected HOST:PORT/],
  ['schema apply: bad keyspace', () => ['schema', 'apply', '--keyspace', '1-bad'], noEnv, /--keyspace.*keyspace name/],
  ['bugs: unknown flag', () => ['bugs', '--jsn'], noEnv, /unknown option '--jsn'.*--json/],
];

/** main() in this process, with stdout and stderr captured as the terminal would see them. */
async function inProcess(argv: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const text = (args: unknown[]): string => `${args.map(String).join(' ')}\n`;
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { stdout += String(chunk); return true; });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { stderr += String(chunk); return true; });
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => { stdout += text(args); });
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => { stderr += text(args); });
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  try {
    const code = await main(['node', 'chatsim', ...argv]);
    return { code, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('bad usage exits 64 with one clear line', () => {
  it.each(CASES)('%s', async (_what, argv, env, says) => {
    const { code, stdout, stderr } = await inProcess(argv(), env);
    const lines = stderr.split('\n').filter((l) => l.trim() !== '');
    expect({ code, lines, stdout }).toEqual({ code: 64, lines: [expect.stringMatching(says)], stdout: '' });
  });

  it('a port another process holds is not bad usage: exit 3, one line, nothing left open', async () => {
    const { createServer } = await import('node:net');
    const holder = createServer();
    await new Promise<void>((ready) => holder.listen(0, '127.0.0.1', () => ready()));
    const port = (holder.address() as { port: number }).port;
    try {
      const { code, stdout, stderr } = await inProcess(['run', tiny, '--engine', 'sim', '--dir', join(dir, 'taken'), '--out', `json=${join(dir, 'taken.jsonl')}`, '--out', `prometheus=127.0.0.1:${port}`], {});
      expect({ code, lines: stderr.split('\n').filter((l) => l !== ''), stdout }).toEqual({ code: 3, lines: [expect.stringMatching(/--out prometheus=127\.0\.0\.1:\d+: cannot listen: .*EADDRINUSE/)], stdout: '' });
    } finally {
      holder.close();
    }
  });

  it('covers every command chatsim has', async () => {
    const { stdout } = await inProcess(['--help'], {});
    const commands = [...stdout.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]).filter((c) => c !== 'help');
    const covered = new Set(CASES.map(([what]) => what.split(/[: ]/)[0]));
    expect(commands.length).toBeGreaterThanOrEqual(8);
    for (const command of commands) expect(covered, command).toContain(command);
  });

  it('the real binary agrees: exit 64 and the same one line', { timeout: 60_000 }, async () => {
    for (const [what, argv, env, says] of CASES.filter(([w]) => ['run: unknown scenario key', 'run: phones in the file, misspelt', 'run: bad duration unit', 'serve: port out of range', 'unknown command'].includes(w))) {
      const child = spawn(process.execPath, [bin, ...argv()], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      const [code] = await once(child, 'exit');
      const lines = stderr.split('\n').filter((l) => l.trim() !== '');
      expect({ what, code, lines, stdout }).toEqual({ what, code: 64, lines: [expect.stringMatching(says)], stdout: '' });
    }
  });
});
