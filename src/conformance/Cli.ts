/**
 * `effect-jetstream conformance`: property-based conformance checks against any JetStream server.
 * Placeholder until the conformance kit lands: it says so and exits 2.
 */
export const runConformanceCli = async (_argv: ReadonlyArray<string>): Promise<number> => {
  process.stderr.write("effect-jetstream conformance: not implemented yet\n")
  return 2
}
