/** The shape of a CLI command. */
export interface Command {
  name: string;
  /** One line for `tokenwire --help`. */
  summary: string;
  /** The full `tokenwire NAME --help` text, with examples. */
  help: string;
  /** Whether it streams generations, so `--otel` (OTLP export) applies (cli/otel.ts). */
  otel?: boolean;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}
