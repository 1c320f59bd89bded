/**
 * What the sourcing specs (WorkQueueSource214, DurableSourcing214) share: nats-server's consumer-name hash,
 * computed independently of the broker's code, and a poll for an asynchronous condition.
 */
import { createHash } from "node:crypto"
import { sleep } from "../../support/Js.ts"

/** nats-server getHash (e.g. of "<stream> <account>"): 8 bytes of SHA-256 in base 62 digits. */
export const natsHash = (text: string): string => {
  const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
  const b = createHash("sha256").update(text).digest()
  return [...b.subarray(0, 8)].map((x) => digits[x % 62]).join("")
}

/** Polls `what` every 50 ms until it holds; throws after `ms`. */
export const until = async (what: () => Promise<boolean>, ms = 8000): Promise<void> => {
  const end = Date.now() + ms
  while (!(await what())) {
    if (Date.now() > end) throw new Error("timed out")
    await sleep(50)
  }
}
