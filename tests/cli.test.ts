// The Siamese example's command line (examples/siamese/cli.ts, also the package's
// `webgluon-siamese`): node:util parseArgs in strict mode, --help/-h on every command (usage on
// stdout, exit 0, nothing trained or written), `--flag value` and `--flag=value`, unknown flags
// refused with the flag meant, values that make no sense refused naming the flag; usage errors
// exit 2 and other errors 1. Child processes run the CLI as users do; the exhaustive value
// checks call the parser in-process. Every flag the README's Siamese section shows is accepted.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS, parseCommand, parseCommandLine, UsageError, type CommandName } from '../examples/siamese/cli.js';

const root = mkdtempSync(join(tmpdir(), 'webgluon-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const cache = join(root, 'cache');
const out = join(root, 'out');

function cli(args: string[], script = 'examples/siamese/cli.ts'): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: join(__dirname, '..'), env: { ...process.env, WEBGLUON_CACHE: cache }, encoding: 'utf8', timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Nothing was trained or generated: no cache (built-in data) and no output folder. */
function nothingWritten(): void {
  expect(existsSync(cache), 'the cache folder was created').toBe(false);
  expect(existsSync(out), 'the output folder was created').toBe(false);
}

const names = Object.keys(COMMANDS) as CommandName[];

describe('--help and -h', () => {
  for (const command of names) {
    it(`${command} --help / -h print its usage with every flag and exit 0 without running`, () => {
      const firstFlag = Object.keys(COMMANDS[command].flags)[0];
      for (const args of [[command, '--help'], [command, '-h'], [command, `--${firstFlag}`, out, '-h'], ['help', command]]) {
        const r = cli(args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
        expect(r.stdout).toContain(`usage: webgluon-siamese ${command}`);
        for (const flag of Object.keys(COMMANDS[command].flags)) expect(r.stdout, `--${flag} in the usage`).toContain(`--${flag}`);
        nothingWritten();
      }
    });
  }
  it('help wins over a mistake in the same line; the program prints its command list for --help', () => {
    const r = cli(['train', '--epochz', '3', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: webgluon-siamese train');
    const top = cli(['--help']);
    expect(top.code).toBe(0);
    for (const command of names) expect(top.stdout).toContain(command);
    nothingWritten();
  });
  it('npm start (main.ts) takes train\'s flags: --help exits 0, a misspelt flag exits 2', () => {
    const r = cli(['--help'], 'examples/siamese/main.ts');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--steps-per-epoch');
    const bad = cli(['--step-per-epoch', '3'], 'examples/siamese/main.ts');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('did you mean --steps-per-epoch?');
    nothingWritten();
  });
});

describe('usage errors exit 2 and name what is wrong', () => {
  const cases: [string[], RegExp][] = [
    [['train', '--epochz', '3'], /unknown option --epochz \(did you mean --epochs\?\)/],
    [['train', '--steps-per-epoc', '3'], /did you mean --steps-per-epoch\?/],
    [['eval-oneshot', '--run', 'x', '--params', 'y'], /did you mean --runs\?/],
    [['train', '--epochs', '0'], /--epochs must be a positive integer, got '0'/],
    [['train', '--epochs', '-2'], /--epochs must be a positive integer, got '-2'/],
    [['train', '--lr=NaN'], /--lr must be a positive number, got 'NaN'/],
    [['make-oneshot-runs', '--alphabets', 'a', '--runs=0'], /--runs must be a positive integer/],
    [['eval-oneshot', '--runs', 'r'], /--params is required/],
    [['train', '--batch-size'], /--batch-size/],
    [['train', 'extra'], /Unexpected argument 'extra'/],
    [['train', '--resume=yes'], /--resume/],
    [['trian'], /unknown command 'trian' \(did you mean 'train'\?\)/],
    [[], /no command given/],
  ];
  for (const [args, message] of cases) {
    it(`${args.join(' ') || '(no arguments)'}`, () => {
      const r = cli(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      nothingWritten();
    });
  }
});

describe('other errors exit 1; both flag spellings reach the command', () => {
  it('`--flag value` and `--flag=value` both parse, and a run that fails exits 1', () => {
    for (const args of [['--runs', join(root, 'no-runs'), '--params', join(root, 'none.safetensors')],
      [`--runs=${join(root, 'no-runs')}`, `--params=${join(root, 'none.safetensors')}`, '--image-size=28']]) {
      const r = cli(['eval-oneshot', ...args]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/none\.safetensors|no-runs/);
      expect(r.stderr).not.toMatch(/--help/);
    }
  });
});

describe('the parser, in-process', () => {
  it('the two spellings give the same flags; numbers are numbers; --no-hybridize is a flag', () => {
    const spaced = parseCommand('train', ['--epochs', '3', '--lr', '0.01', '--out', 'o', '--no-hybridize', '--resume', '--seed', '0', '--workers', '0']);
    const joined = parseCommand('train', ['--epochs=3', '--lr=0.01', '--out=o', '--no-hybridize', '--resume', '--seed=0', '--workers=0']);
    expect(joined).toEqual(spaced);
    expect(spaced.flags).toEqual({ epochs: 3, lr: 0.01, out: 'o', 'no-hybridize': true, resume: true, seed: 0, workers: 0 });
  });

  it('every numeric flag refuses 0 (where it makes no sense), negatives, NaN, fractions and empty values, naming the flag', () => {
    for (const command of names) {
      for (const [flag, spec] of Object.entries(COMMANDS[command].flags) as [string, { rule?: string; required?: boolean }][]) {
        if (!spec.rule) continue;
        const required = Object.entries(COMMANDS[command].flags).filter(([, f]) => (f as { required?: boolean }).required).flatMap(([k]) => [`--${k}`, 'x']);
        const bad = ['-1', 'NaN', 'abc', '', 'Infinity', ...(spec.rule === 'positive number' ? ['0'] : ['1.5']), ...(spec.rule === 'positive integer' ? ['0'] : [])];
        for (const v of bad) {
          for (const args of [[`--${flag}`, v], [`--${flag}=${v}`]]) {
            let error: unknown = null;
            try {
              parseCommand(command, [...required, ...args]);
            } catch (e) {
              error = e;
            }
            expect(error, `${command} ${args.join(' ')}`).toBeInstanceOf(UsageError);
            expect((error as Error).message, `${command} ${args.join(' ')}`).toContain(`--${flag}`);
          }
        }
      }
    }
  });

  it('accepts every flag the README shows for the Siamese example', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## The Siamese example'), readme.indexOf('\n## ', readme.indexOf('## The Siamese example') + 5));
    const shown = new Set([...section.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]));
    expect(shown.size).toBeGreaterThan(10);
    const known = new Set(names.flatMap((c) => Object.keys(COMMANDS[c].flags)));
    expect([...shown].filter((f) => !known.has(f))).toEqual([]);
    // The training flags the README lists all belong to `train` itself.
    const trainLine = section.slice(section.indexOf('`train` takes'), section.indexOf('`eval-oneshot`'));
    for (const m of trainLine.matchAll(/--([a-z][a-z-]*)/g)) expect(Object.keys(COMMANDS.train.flags)).toContain(m[1]);
  });

  it('the command line: help topics, unknown commands', () => {
    expect(parseCommandLine(['help'])).toEqual({ command: null, help: true, topic: null });
    expect(parseCommandLine(['help', 'eval-oneshot'])).toEqual({ command: null, help: true, topic: 'eval-oneshot' });
    expect(() => parseCommandLine(['evaloneshot'])).toThrow(/did you mean 'eval-oneshot'/);
    expect(readdirSync(root).filter((f) => f !== 'cache' && f !== 'out')).toEqual([]);
  });
});
