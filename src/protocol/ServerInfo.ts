/**
 * The INFO line sent first on every connection: the fields the official clients read.
 */
import { Schema } from "effect"

export const ServerInfo = Schema.Struct({
  server_id: Schema.String,
  server_name: Schema.String,
  version: Schema.String,
  proto: Schema.Number,
  go: Schema.String,
  host: Schema.String,
  port: Schema.Number,
  headers: Schema.Boolean,
  auth_required: Schema.optionalKey(Schema.Boolean),
  tls_required: Schema.optionalKey(Schema.Boolean),
  tls_verify: Schema.optionalKey(Schema.Boolean),
  tls_available: Schema.optionalKey(Schema.Boolean),
  max_payload: Schema.Number,
  jetstream: Schema.optionalKey(Schema.Boolean),
  client_id: Schema.Number,
  client_ip: Schema.String,
  nonce: Schema.optionalKey(Schema.String),
  cluster: Schema.optionalKey(Schema.String),
  connect_urls: Schema.optionalKey(Schema.Array(Schema.String)),
  domain: Schema.optionalKey(Schema.String),
  /** 2.12: the JetStream API level (ADR-44), sent whether or not JetStream is on. */
  api_lvl: Schema.optionalKey(Schema.Number)
})
export type ServerInfo = typeof ServerInfo.Type

/** nats-server ids are 56 base32 characters starting with N. */
export const makeServerId = (): string => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
  let id = "N"
  for (let i = 0; i < 55; i++) id += alphabet[Math.floor(Math.random() * 32)]
  return id
}

export const encodeInfo = (info: ServerInfo): string => `INFO ${JSON.stringify(info)} \r\n`
