// Typed command-line flag parsing with clear errors: each command declares its flags once,
// and every value is checked at the boundary (style.md: inputs checked where they enter).

export type FlagKind = 'string' | 'int' | 'number' | 'bool' | 'choice';

export interface FlagSpec {
  kind: FlagKind;
  help: string;
  default?: string | number | boolean;
  choices?: readonly string[];
  required?: boolean;
  min?: number;
  max?: number;
}

export type FlagSpecs = Record<string, FlagSpec>;
export type FlagValues = Record<string, string | number | boolean | undefined>;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses `--name value`, `--name=value` and bare `--flag` (booleans); returns values and positionals. */
export function parseFlags(argv: string[], specs: FlagSpecs, command: string): { flags: FlagValues; positional: string[] } {
  const flags: FlagValues = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = specs[name];
    if (!spec) {
      const known = Object.keys(specs).map((k) => `--${k}`).join(', ');
      throw new UsageError(`${command}: unknown flag --${name} (known: ${known || 'none'})`);
    }
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else if (spec.kind === 'bool') raw = 'true';
    else {
      if (i + 1 >= argv.length) throw new UsageError(`${command}: flag --${name} needs a value`);
      raw = argv[++i];
    }
    flags[name] = convert(raw, name, spec, command);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (flags[name] === undefined) {
      if (spec.required) throw new UsageError(`${command}: flag --${name} is required (${spec.help})`);
      flags[name] = spec.default;
    }
  }
  return { flags, positional };
}

function convert(raw: string, name: string, spec: FlagSpec, command: string): string | number | boolean {
  switch (spec.kind) {
    case 'string':
      return raw;
    case 'bool':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new UsageError(`${command}: --${name} must be true or false, got "${raw}"`);
    case 'choice':
      if (!spec.choices!.includes(raw)) {
        throw new UsageError(`${command}: --${name} must be one of ${spec.choices!.join('|')}, got "${raw}"`);
      }
      return raw;
    case 'int':
    case 'number': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v) || (spec.kind === 'int' && !Number.isInteger(v))) {
        throw new UsageError(`${command}: --${name} must be ${spec.kind === 'int' ? 'an integer' : 'a number'}, got "${raw}"`);
      }
      if (spec.min !== undefined && v < spec.min) throw new UsageError(`${command}: --${name} must be >= ${spec.min}, got ${v}`);
      if (spec.max !== undefined && v > spec.max) throw new UsageError(`${command}: --${name} must be <= ${spec.max}, got ${v}`);
      return v;
    }
  }
}

export function formatHelp(usage: string, summary: string, specs: FlagSpecs): string {
  const lines = [`usage: ${usage}`, '', summary, '', 'flags:'];
  for (const [name, spec] of Object.entries(specs)) {
    const kind = spec.kind === 'choice' ? spec.choices!.join('|') : spec.kind === 'bool' ? '' : spec.kind.toUpperCase();
    const def = spec.default !== undefined ? ` (default: ${spec.default})` : spec.required ? ' (required)' : '';
    lines.push(`  --${name}${kind ? ' ' + kind : ''}`.padEnd(30) + spec.help + def);
  }
  lines.push(`  --help`.padEnd(30) + 'show this help');
  return lines.join('\n');
}
