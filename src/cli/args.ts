/**
 * The command line of one subcommand: `--name value`, `--name=value`, boolean `--name`, repeatable
 * options, positionals, `--` to end the options, `-h`/`--help` anywhere. Errors name the option,
 * never its value: a value may be a secret (`--secret`).
 */

import { usage } from "./failure";

export type OptionKind = "string" | "boolean" | "strings";

export interface CommandSpec {
  /** "inspect", "sessions list", ... */
  name: string;
  /** One line for `njs-session --help`. */
  summary: string;
  /** The whole `--help` text (usage line, options, examples). */
  help: string;
  options: { [name: string]: OptionKind };
  /** How many positionals the command takes. */
  positionals: { min: number; max: number; names: string };
}

export interface Arguments {
  help: boolean;
  positionals: string[];
  string(name: string): string | undefined;
  boolean(name: string): boolean;
  strings(name: string): string[];
}

export function parseArguments(spec: CommandSpec, argv: string[]): Arguments {
  const values: { [name: string]: string | boolean | string[] } = {};
  const positionals: string[] = [];
  let help = false;
  let optionsEnded = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (optionsEnded || arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    if (arg === "--") {
      optionsEnded = true;
      continue;
    }
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    const equals = arg.indexOf("=");
    const name = arg.substring(2, equals < 0 ? arg.length : equals);
    const kind = arg.startsWith("--") ? spec.options[name] : undefined;
    if (!kind) throw usage("unknown option " + (arg.startsWith("--") ? "--" + name : arg.substring(0, 2)) + " (see njs-session " + spec.name + " --help)");
    if (kind === "boolean") {
      if (equals >= 0) throw usage("--" + name + " takes no value");
      values[name] = true;
      continue;
    }
    let value: string;
    if (equals >= 0) value = arg.substring(equals + 1);
    else {
      if (i + 1 >= argv.length) throw usage("--" + name + " needs a value");
      value = argv[++i];
    }
    if (kind === "strings") values[name] = ((values[name] as string[] | undefined) || []).concat([value]);
    else if (values[name] !== undefined) throw usage("--" + name + " is given twice");
    else values[name] = value;
  }
  if (!help) {
    const count = spec.positionals;
    if (positionals.length < count.min) throw usage("missing " + count.names + " (see njs-session " + spec.name + " --help)");
    if (positionals.length > count.max) throw usage("too many arguments (see njs-session " + spec.name + " --help)");
  }
  return {
    help: help,
    positionals: positionals,
    string: (name) => values[name] as string | undefined,
    boolean: (name) => values[name] === true,
    strings: (name) => (values[name] as string[] | undefined) || [],
  };
}
