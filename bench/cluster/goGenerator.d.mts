/** The path of the built Go load generator, or undefined without go or Debian's nats.go. */
export declare const buildRouteBench: (work: string) => string | undefined
