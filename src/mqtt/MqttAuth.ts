/**
 * Who an MQTT client is, from its CONNECT's user name and password, checked by the server's
 * authenticator as nats-server 2.9.10 does (processClientOrLeafAuthentication, MQTT case): the
 * `mqtt { authorization, no_auth_user }` settings replace the top-level ones when any is given
 * (mqttConfigAuth), users' `allowed_connection_types` are checked against MQTT, and the password
 * doubles as the token (mqttParseConnect copies it to both).
 */
import type { AuthResult } from "../auth/Authenticator.ts"
import { Authenticator } from "../auth/Authenticator.ts"
import { type AuthSettings, effectiveTimeoutMs, empty as emptyAuth, forMqtt } from "../auth/AuthSettings.ts"
import type { ClientPermissions } from "../auth/Permissions.ts"
import type { BrokerConfig } from "../config/BrokerConfig.ts"
import { authOverride, type MqttSettings } from "../config/MqttConfigFile.ts"

/** MQTT 3.1.1 CONNACK return codes nats-server answers with. */
export const RC_BAD_USER_OR_PASSWORD = 4
export const RC_NOT_AUTHORIZED = 5

/** Undefined when MQTT clients need no credentials. */
export const mqttAuthenticator = (c: BrokerConfig, m: MqttSettings): Authenticator | undefined => {
  const top = c.auth
  let settings: AuthSettings | undefined = top
  if (authOverride(m)) {
    settings = {
      ...(top ?? emptyAuth),
      user: m.user,
      password: m.password,
      token: m.token,
      noAuthUser: m.noAuthUser
    }
  }
  if (settings === undefined) return undefined
  const timeoutMs = m.authTimeoutSeconds !== undefined && m.authTimeoutSeconds !== 0
    ? m.authTimeoutSeconds * 1000
    : effectiveTimeoutMs(settings, c.tls?.timeoutMs)
  const auth = new Authenticator({ ...forMqtt(settings), timeoutMs }, "MQTT")
  return auth.required ? auth : undefined
}

export type MqttAuthOutcome =
  | { readonly ok: true; readonly permissions: ClientPermissions | undefined; readonly who: string | undefined }
  | { readonly ok: false; readonly returnCode: number; readonly log: string }

export const authenticateMqtt = (
  auth: Authenticator | undefined,
  username: string | undefined,
  password: Uint8Array | string | undefined,
  clientIp: string
): MqttAuthOutcome => {
  // MQTT-3.1.3-11 / nats-server: the user name flag with an empty name is a bad user name.
  if (username === "") return { ok: false, returnCode: RC_BAD_USER_OR_PASSWORD, log: "empty user name not allowed" }
  if (auth === undefined) return { ok: true, permissions: undefined, who: username }
  const pass = password === undefined
    ? undefined
    : typeof password === "string"
    ? password
    : Buffer.from(password).toString("utf8")
  const r: AuthResult = auth.authenticate({ user: username, pass, auth_token: pass, jwt: pass }, undefined, clientIp)
  if (!r.ok) return { ok: false, returnCode: RC_NOT_AUTHORIZED, log: `Authorization Violation - ${r.reason}` }
  if (r.account !== undefined && r.account !== "$G") {
    // MQTT sessions, retained messages and QoS 1 streams live in the global account's JetStream only.
    return {
      ok: false,
      returnCode: RC_NOT_AUTHORIZED,
      log: `user ${JSON.stringify(r.who ?? "")} belongs to account ${
        JSON.stringify(r.account)
      }: MQTT clients of accounts other than the global one are not supported yet`
    }
  }
  return { ok: true, permissions: r.permissions, who: r.who }
}
