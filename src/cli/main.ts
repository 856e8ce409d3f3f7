/**
 * `njs-session`, the package's command-line tool (bin: dist/cli.js, built by build/build-cli.mjs):
 * picks the subcommand, parses its arguments, runs it, and turns every failure into one line on
 * stderr and an exit status of failure.ts. No stack trace, and no secret, ever reaches the terminal.
 */

import { parseArguments, CommandSpec, Arguments } from "./args";
import { checkConfig, checkConfigSpec } from "./check-config";
import { EXIT, isCliFailure, usage } from "./failure";
import { inspect, inspectSpec } from "./inspect";
import { keygen, keygenSpec } from "./keygen";
import { mint, mintSpec } from "./mint";
import { escapeText, nodeProcess, print, printError } from "./output";
import { sessionsList, sessionsListSpec, sessionsRevoke, sessionsRevokeSpec, sessionsSpec } from "./sessions";
import { errorText } from "../core/errors";
import { registerBuiltinStorages } from "../storage/index";

interface Command {
  spec: CommandSpec;
  run: (args: Arguments) => number | Promise<number>;
}

const COMMANDS: { [name: string]: Command } = {
  keygen: { spec: keygenSpec, run: keygen },
  inspect: { spec: inspectSpec, run: inspect },
  mint: { spec: mintSpec, run: mint },
  "check-config": { spec: checkConfigSpec, run: checkConfig },
  "sessions list": { spec: sessionsListSpec, run: sessionsList },
  "sessions revoke": { spec: sessionsRevokeSpec, run: sessionsRevoke },
};

const OVERVIEW = `usage: njs-session COMMAND [options]   (njs-session COMMAND --help for each)

${["keygen", "inspect", "mint", "check-config"].map((name) => "  " + name.padEnd(16) + COMMANDS[name].spec.summary).join("\n")}
  sessions list   ${sessionsListSpec.summary}
  sessions revoke ${sessionsRevokeSpec.summary}

Exit status: 0 ok, 1 internal error, 2 usage, 3 malformed input, 4 cookie rejected (wrong key,
altered, revoked), 5 expired, 6 invalid configuration, 7 unreadable file, 8 admin API error,
9 session store unreachable.
See docs/cli.md.`;

async function run(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    print(OVERVIEW);
    return first === undefined ? EXIT.USAGE : EXIT.OK;
  }
  let name = first;
  let rest = argv.slice(1);
  if (first === "sessions") {
    const verb = rest[0];
    if (verb === undefined || verb === "-h" || verb === "--help") {
      print(sessionsSpec.help);
      return verb === undefined ? EXIT.USAGE : EXIT.OK;
    }
    name = "sessions " + verb;
    rest = rest.slice(1);
    if (!COMMANDS[name]) throw usage("unknown sessions command " + JSON.stringify(escapeText(verb)) + " (list or revoke)");
  }
  const command = COMMANDS[name];
  if (!command) throw usage("unknown command " + JSON.stringify(escapeText(first)) + " (njs-session --help lists them)");
  const args = parseArguments(command.spec, rest);
  if (args.help) {
    print(command.spec.help);
    return EXIT.OK;
  }
  registerBuiltinStorages();
  return command.run(args);
}

async function main(): Promise<void> {
  let status: number;
  try {
    status = await run(nodeProcess.argv.slice(2));
  } catch (e) {
    if (isCliFailure(e)) {
      printError("njs-session: " + e.message);
      status = e.status;
    } else {
      // Not expected: still one line (the message may name a file, never a secret: output.ts redacts).
      printError("njs-session: internal error: " + escapeText(errorText(e)));
      status = EXIT.INTERNAL;
    }
  }
  nodeProcess.exitCode = status;
}

void main();
