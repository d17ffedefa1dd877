/**
 * The shape of one `weft` subcommand. Each subcommand lives in its own file under `src/cli/` and is
 * listed in `main.ts`.
 * @module
 */

/** One subcommand of the `weft` CLI. */
export interface CliCommand {
  /** Name typed after `weft`, e.g. `"launch"`. */
  name: string;
  /** One line for `weft --help`. */
  summary: string;
  /** One example command line for `weft --help`. */
  example: string;
  /** Full usage text for `weft <name> --help`. */
  usage: string;
  /**
   * Runs the subcommand with the arguments after its name. Resolves to the exit status. Throws a
   * `WeftError` (a `UserFault` for bad arguments) to report failure; `main.ts` prints it and maps it to an
   * exit status.
   */
  run(argv: string[]): Promise<number>;
}
