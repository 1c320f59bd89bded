/**
 * Protocol behaviour on the wire, byte for byte. Cases marked [nats] are also replayed against
 * nats-server by spec/differential; the others are deliberate deviations explained inline.
 */
export const rawCases: Array<{ name: string; input: string; text: string; closed: boolean; nats: boolean }> = [
  {
    name: "unknown operation",
    input: "CONNECT {\"verbose\":false}\r\nFOO\r\n",
    text: "-ERR 'Unknown Protocol Operation'\r\n",
    closed: true,
    nats: true
  },
  {
    name: "payload longer than declared",
    input: "PUB foo 2\r\nhello\r\nPING\r\n",
    text: "-ERR 'Unknown Protocol Operation'\r\n",
    closed: true,
    nats: true
  },
  {
    name: "payload over max_payload",
    input: "PUB foo 5000000\r\n",
    text: "-ERR 'Maximum Payload Violation'\r\n",
    closed: true,
    nats: true
  },
  {
    name: "control line over the limit",
    input: `PUB ${"a".repeat(5000)} 1\r\n`,
    text: "-ERR 'maximum control line exceeded'\r\n",
    closed: true,
    nats: true
  },
  {
    name: "invalid subscription subject keeps the connection",
    input: "SUB foo..bar 1\r\nPING\r\n",
    text: "-ERR 'Invalid Subject'\r\nPONG\r\n",
    closed: false,
    nats: true
  },
  {
    name: "verbose and pedantic are on before CONNECT",
    input: "SUB a 1\r\nPUB a 1\r\nx\r\nPING\r\n",
    text: "+OK\r\n+OK\r\nMSG a 1 1\r\nx\r\nPONG\r\n",
    closed: false,
    nats: true
  },
  {
    name: "a CONNECT without a verbose key keeps it on",
    input: "CONNECT {}\r\nSUB a 1\r\nPUB a 1\r\nx\r\nPING\r\n",
    text: "+OK\r\n+OK\r\n+OK\r\nMSG a 1 1\r\nx\r\nPONG\r\n",
    closed: false,
    nats: true
  },
  {
    name: "verbose acknowledges every operation",
    input: "CONNECT {\"verbose\":true}\r\nSUB a 1\r\nPUB a 1\r\nx\r\nUNSUB 1\r\nPING\r\n",
    text: "+OK\r\n+OK\r\n+OK\r\nMSG a 1 1\r\nx\r\n+OK\r\nPONG\r\n",
    closed: false,
    nats: true
  },
  {
    name: "protocol > 1 is refused",
    input: "CONNECT {\"protocol\":5}\r\nPING\r\n",
    text: "-ERR 'invalid client protocol'\r\n",
    closed: true,
    nats: true
  },
  {
    name: "no_responders needs headers",
    input: "CONNECT {\"no_responders\":true,\"headers\":false}\r\nPING\r\n",
    text: "-ERR 'no responders requires headers support'\r\n",
    closed: true,
    nats: true
  },
  {
    name: "no responders status",
    input:
      "CONNECT {\"headers\":true,\"no_responders\":true,\"verbose\":false}\r\nSUB _INBOX.x.* 7\r\nPUB nobody _INBOX.x.1 2\r\nhi\r\nPING\r\n",
    text: "HMSG _INBOX.x.1 7 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n",
    closed: false,
    nats: true
  },
  {
    name: "headers and UNSUB max after delivery",
    input:
      "CONNECT {\"headers\":true,\"verbose\":false}\r\nSUB a 7\r\nHPUB a r 12 14\r\nNATS/1.0\r\n\r\nhi\r\nUNSUB 7 1\r\nPUB a 0\r\n\r\nPING\r\n",
    text: "HMSG a 7 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPONG\r\n",
    closed: false,
    nats: true
  },
  {
    name: "echo off",
    input: "CONNECT {\"echo\":false,\"verbose\":false}\r\nSUB a 7\r\nPUB a 0\r\n\r\nPING\r\n",
    text: "PONG\r\n",
    closed: false,
    nats: true
  },
  {
    name: "duplicate sid is one subscription",
    input: "CONNECT {\"verbose\":false}\r\nSUB a 7\r\nSUB a 7\r\nPUB a 0\r\n\r\nPING\r\n",
    text: "MSG a 7 0\r\n\r\nPONG\r\n",
    closed: false,
    nats: true
  },
  {
    name: "lower-case verbs",
    input: "connect {\"verbose\":false}\r\nsub a 1\r\npub a 1\r\nx\r\nping\r\n",
    text: "MSG a 1 1\r\nx\r\nPONG\r\n",
    closed: false,
    nats: true
  },
  // nats-server closes silently on malformed arguments and bad CONNECT JSON; we also say why.
  {
    name: "SUB without sid",
    input: "PING\r\nSUB foo\r\nPING\r\n",
    text: "PONG\r\n-ERR 'Invalid Protocol Arguments'\r\n",
    closed: true,
    nats: false
  },
  {
    name: "CONNECT that is not JSON",
    input: "CONNECT {bad json\r\nPING\r\n",
    text: "-ERR 'Invalid CONNECT Payload'\r\n",
    closed: true,
    nats: false
  },
  {
    name: "CONNECT field of the wrong type",
    input: "CONNECT {\"verbose\":\"yes\"}\r\nPING\r\n",
    text: "-ERR 'Invalid CONNECT Payload'\r\n",
    closed: true,
    nats: false
  },
  // nats-server closes silently on HPUB from a client that did not negotiate headers; we say why.
  {
    name: "HPUB without negotiated headers",
    input: "CONNECT {\"verbose\":false}\r\nSUB a 7\r\nHPUB a 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n",
    text: "-ERR 'Headers Not Negotiated'\r\n",
    closed: true,
    nats: false
  },
  // nats-server reports the error and delivers anyway; we report it and drop the message.
  {
    name: "pedantic rejects a wildcard publish",
    input: "CONNECT {\"pedantic\":true,\"verbose\":false}\r\nSUB foo.* 1\r\nPUB foo.* 2\r\nhi\r\nPING\r\n",
    text: "-ERR 'Invalid Publish Subject'\r\nPONG\r\n",
    closed: false,
    nats: false
  }
]
