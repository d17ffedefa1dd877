/**
 * `weft keys`: CURVE key pairs for groups whose TCP traffic must be encrypted and authenticated.
 * @module
 */
import { chmodSync, existsSync, rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { BadRequestError, FileOperationError } from "../core/errors.ts";
import { generateCurveKeyPair, readCurveKeyFile, writeCurveKeyFile } from "../transport/curve.ts";
import type { CliCommand } from "./command.ts";

/** Key file written when `--out` is not given. */
export const DEFAULT_KEY_FILE = "weft-curve.key";

const USAGE = `weft keys generate [--out FILE] [--force]
weft keys show FILE

generate   writes a new CURVE key pair (JSON: publicKey, secretKey; file mode 0600) and prints the
           public key. Share the file with every member of a group (driver.curve), or give each member
           its own pair and list the others' public keys in curve.allowedPublicKeys.
  --out FILE   where to write the key pair (default ${DEFAULT_KEY_FILE})
  --force      replace an existing file
show       prints the public key of a key file (never the secret key).`;

function parse(argv: string[]): { values: { out?: string; force?: boolean }; positionals: string[] } {
  try {
    return parseArgs({
      args: argv,
      options: { out: { type: "string" }, force: { type: "boolean" } },
      allowPositionals: true,
    });
  } catch (err) {
    throw new BadRequestError(`${(err as Error).message}; run "weft keys --help"`, { cause: err });
  }
}

function generate(out: string, force: boolean): string {
  if (existsSync(out)) {
    if (!force) {
      throw new FileOperationError(
        `${out} already exists; pass --force to replace it or --out to write elsewhere`,
      );
    }
    // Removing first makes the new file get mode 0600 even if the old one was readable by others.
    rmSync(out, { force: true });
  }
  const keys = generateCurveKeyPair();
  try {
    writeCurveKeyFile(out, keys);
    chmodSync(out, 0o600);
  } catch (err) {
    throw new FileOperationError(`cannot write the key file ${out}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return keys.publicKey;
}

/**
 * The `weft keys` subcommand.
 * @example
 * ```ts
 * await command.run(["generate", "--out", "group.key"]); // prints the public key, exit status 0
 * ```
 */
export const command: CliCommand = {
  name: "keys",
  summary: "generate CURVE key pair files for encrypted, authenticated TCP groups",
  example: "weft keys generate --out group.key",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parse(argv);
    const [action, file, ...extra] = positionals;
    if (extra.length > 0) throw new BadRequestError(`unexpected arguments: ${extra.join(" ")}`);
    switch (action) {
      case "generate": {
        if (file !== undefined) throw new BadRequestError(`unexpected argument ${file}; use --out FILE`);
        const out = values.out ?? DEFAULT_KEY_FILE;
        const publicKey = generate(out, values.force ?? false);
        console.log(publicKey);
        console.error(`wrote the key pair to ${out} (mode 0600); keep it secret, share the public key`);
        return 0;
      }
      case "show": {
        if (file === undefined) throw new BadRequestError('name the key file: "weft keys show FILE"');
        console.log(readCurveKeyFile(file).publicKey);
        return 0;
      }
      default:
        throw new BadRequestError(
          action === undefined
            ? 'name an action: "weft keys generate [--out FILE]" or "weft keys show FILE"'
            : `unknown action "${action}"; use "generate" or "show"`,
        );
    }
  },
};
