/**
 * JetStream API errors as nats-server 2.9.10 puts them on the wire: an HTTP-ish `code`, a stable
 * `err_code` and a `description`. The table mirrors nats-server's errors.json (all 132 entries of
 * 2.9.10, plus the 2.10 ones of the features built: filter_subjects, metadata, first_seq, action,
 * consumer_limits, subject transforms); only `code`/`err_code` are contract for clients, but we keep descriptions byte-identical
 * so differential tests can compare whole replies.
 *
 * Constructor names are the nats-server constant without the `JS` prefix and the `Err`/`ErrF`/`F`
 * suffix, in lowerCamelCase (`JSStreamNotFoundErr` → `ApiErrors.streamNotFound()`). Placeholders
 * such as `{seq}` or `{err}` are substituted the way nats-server does it: every occurrence, the
 * value rendered like Go's `%v` (decimal integers, strings verbatim).
 */
import { Schema } from "effect"
import { encodeJson } from "../codec/Json.ts"

/**
 * A JetStream API error; handlers fail with it in Effect's error channel and the dispatcher
 * (JetStream.ts) writes it as the reply's `error` member. `toJSON` is the wire shape, so an
 * `ApiError` inside a pub-ack body encodes as `{"code","err_code","description"}` and nothing else.
 */
export class ApiError extends Schema.TaggedError<ApiError>()("ApiError", {
  code: Schema.Number,
  err_code: Schema.Number,
  description: Schema.String
}) {
  override get message(): string {
    return this.description
  }
  // Errors are compared by name and message only in chai's deep equality; a tag of its own makes
  // two ApiErrors equal only when every member is (tests compare whole errors).
  get [Symbol.toStringTag](): string {
    return "ApiError"
  }
  override toJSON(): { code: number; err_code: number; description: string } {
    return { code: this.code, err_code: this.err_code, description: this.description }
  }
}

/** A placeholder value other than `{err}` / `{seq}`: rendered as Go's `%v` would. */
export type Detail = string | number | bigint

const make = (code: number, err_code: number, description: string): ApiError =>
  new ApiError({ code, err_code, description })

const fill = (code: number, err_code: number, template: string, args: Readonly<Record<string, Detail>>): ApiError =>
  make(
    code,
    err_code,
    template.replace(/\{(\w+)\}/g, (whole, key: string) => {
      const v = args[key]
      return v === undefined ? whole : String(v)
    })
  )

export const ApiErrors = {
  accountResourcesExceeded: (): ApiError => make(400, 10002, "resource limits exceeded for account"),
  badRequest: (): ApiError => make(400, 10003, "bad request"),
  clusterIncomplete: (): ApiError => make(503, 10004, "incomplete results"),
  clusterNoPeers: (err: string): ApiError => fill(400, 10005, "{err}", { err }),
  clusterNotActive: (): ApiError => make(500, 10006, "JetStream not in clustered mode"),
  clusterNotAssigned: (): ApiError => make(500, 10007, "JetStream cluster not assigned to this server"),
  clusterNotAvail: (): ApiError => make(503, 10008, "JetStream system temporarily unavailable"),
  clusterNotLeader: (): ApiError => make(500, 10009, "JetStream cluster can not handle request"),
  clusterRequired: (): ApiError => make(503, 10010, "JetStream clustering support required"),
  clusterTags: (): ApiError => make(400, 10011, "tags placement not supported for operation"),
  consumerCreate: (err: string): ApiError => fill(500, 10012, "{err}", { err }),
  consumerNameExist: (): ApiError => make(400, 10013, "consumer name already in use"),
  consumerNotFound: (): ApiError => make(404, 10014, "consumer not found"),
  snapshotDeliverSubjectInvalid: (): ApiError => make(400, 10015, "deliver subject not valid"),
  consumerDurableNameNotInSubject: (): ApiError =>
    make(400, 10016, "consumer expected to be durable but no durable name set in subject"),
  consumerDurableNameNotMatchSubject: (): ApiError =>
    make(400, 10017, "consumer name in subject does not match durable name in request"),
  consumerDurableNameNotSet: (): ApiError =>
    make(400, 10018, "consumer expected to be durable but a durable name was not set"),
  consumerEphemeralWithDurableInSubject: (): ApiError =>
    make(400, 10019, "consumer expected to be ephemeral but detected a durable name set in subject"),
  consumerEphemeralWithDurableName: (): ApiError =>
    make(400, 10020, "consumer expected to be ephemeral but a durable name was set in request"),
  streamExternalApiOverlap: (prefix: Detail, subject: Detail): ApiError =>
    fill(400, 10021, "stream external api prefix {prefix} must not overlap with {subject}", { prefix, subject }),
  streamExternalDelPrefixOverlaps: (prefix: Detail, subject: Detail): ApiError =>
    fill(400, 10022, "stream external delivery prefix {prefix} overlaps with stream subject {subject}", {
      prefix,
      subject
    }),
  insufficientResources: (): ApiError => make(503, 10023, "insufficient resources"),
  streamInvalidExternalDeliverySubj: (prefix: Detail): ApiError =>
    fill(400, 10024, "stream external delivery prefix {prefix} must not contain wildcards", { prefix }),
  invalidJSON: (): ApiError => make(400, 10025, "invalid JSON"),
  maximumConsumersLimit: (): ApiError => make(400, 10026, "maximum consumers limit reached"),
  maximumStreamsLimit: (): ApiError => make(400, 10027, "maximum number of streams reached"),
  memoryResourcesExceeded: (): ApiError => make(500, 10028, "insufficient memory resources available"),
  mirrorConsumerSetupFailed: (err: string): ApiError => fill(500, 10029, "{err}", { err }),
  mirrorMaxMessageSizeTooBig: (): ApiError => make(400, 10030, "stream mirror must have max message size >= source"),
  mirrorWithSources: (): ApiError => make(400, 10031, "stream mirrors can not also contain other sources"),
  mirrorWithStartSeqAndTime: (): ApiError =>
    make(400, 10032, "stream mirrors can not have both start seq and start time configured"),
  mirrorWithSubjectFilters: (): ApiError => make(400, 10033, "stream mirrors can not contain filtered subjects"),
  mirrorWithSubjects: (): ApiError => make(400, 10034, "stream mirrors can not contain subjects"),
  noAccount: (): ApiError => make(503, 10035, "account not found"),
  clusterUnSupportFeature: (): ApiError => make(503, 10036, "not currently supported in clustered mode"),
  noMessageFound: (): ApiError => make(404, 10037, "no message found"),
  notEmptyRequest: (): ApiError => make(400, 10038, "expected an empty request payload"),
  notEnabledForAccount: (): ApiError => make(503, 10039, "JetStream not enabled for account"),
  clusterPeerNotMember: (): ApiError => make(400, 10040, "peer not a member"),
  raftGeneral: (err: string): ApiError => fill(500, 10041, "{err}", { err }),
  restoreSubscribeFailed: (subject: Detail, err: string): ApiError =>
    fill(500, 10042, "JetStream unable to subscribe to restore snapshot {subject}: {err}", { subject, err }),
  sequenceNotFound: (seq: number | bigint): ApiError => fill(400, 10043, "sequence {seq} not found", { seq }),
  clusterServerNotMember: (): ApiError => make(400, 10044, "server is not a member of the cluster"),
  sourceConsumerSetupFailed: (err: string): ApiError => fill(500, 10045, "{err}", { err }),
  sourceMaxMessageSizeTooBig: (): ApiError => make(400, 10046, "stream source must have max message size >= target"),
  storageResourcesExceeded: (): ApiError => make(500, 10047, "insufficient storage resources available"),
  streamAssignment: (err: string): ApiError => fill(500, 10048, "{err}", { err }),
  streamCreate: (err: string): ApiError => fill(500, 10049, "{err}", { err }),
  streamDelete: (err: string): ApiError => fill(500, 10050, "{err}", { err }),
  streamGeneralError: (err: string): ApiError => fill(500, 10051, "{err}", { err }),
  streamInvalidConfig: (err: string): ApiError => fill(500, 10052, "{err}", { err }),
  streamLimits: (err: string): ApiError => fill(500, 10053, "{err}", { err }),
  streamMessageExceedsMaximum: (): ApiError => make(400, 10054, "message size exceeds maximum allowed"),
  streamMirrorNotUpdatable: (): ApiError => make(400, 10055, "stream mirror configuration can not be updated"),
  streamMismatch: (): ApiError => make(400, 10056, "stream name in subject does not match request"),
  streamMsgDeleteFailed: (err: string): ApiError => fill(500, 10057, "{err}", { err }),
  streamNameExist: (): ApiError => make(400, 10058, "stream name already in use with a different configuration"),
  streamNotFound: (): ApiError => make(404, 10059, "stream not found"),
  streamNotMatch: (): ApiError => make(400, 10060, "expected stream does not match"),
  streamReplicasNotUpdatable: (): ApiError => make(400, 10061, "Replicas configuration can not be updated"),
  streamRestore: (err: string): ApiError => fill(500, 10062, "restore failed: {err}", { err }),
  streamSequenceNotMatch: (): ApiError => make(503, 10063, "expected stream sequence does not match"),
  streamSnapshot: (err: string): ApiError => fill(500, 10064, "snapshot failed: {err}", { err }),
  streamSubjectOverlap: (): ApiError => make(400, 10065, "subjects overlap with an existing stream"),
  streamTemplateCreate: (err: string): ApiError => fill(500, 10066, "{err}", { err }),
  streamTemplateDelete: (err: string): ApiError => fill(500, 10067, "{err}", { err }),
  streamTemplateNotFound: (): ApiError => make(404, 10068, "template not found"),
  streamUpdate: (err: string): ApiError => fill(500, 10069, "{err}", { err }),
  streamWrongLastMsgID: (id: Detail): ApiError => fill(400, 10070, "wrong last msg ID: {id}", { id }),
  streamWrongLastSequence: (seq: number | bigint): ApiError => fill(400, 10071, "wrong last sequence: {seq}", { seq }),
  tempStorageFailed: (): ApiError => make(500, 10072, "JetStream unable to open temp storage for restore"),
  templateNameNotMatchSubject: (): ApiError => make(400, 10073, "template name in subject does not match request"),
  streamReplicasNotSupported: (): ApiError => make(500, 10074, "replicas > 1 not supported in non-clustered mode"),
  peerRemap: (): ApiError => make(503, 10075, "peer remap failed"),
  notEnabled: (): ApiError => make(503, 10076, "JetStream not enabled"),
  streamStoreFailed: (err: string): ApiError => fill(503, 10077, "{err}", { err }),
  consumerConfigRequired: (): ApiError => make(400, 10078, "consumer config required"),
  consumerDeliverToWildcards: (): ApiError => make(400, 10079, "consumer deliver subject has wildcards"),
  consumerPushMaxWaiting: (): ApiError => make(400, 10080, "consumer in push mode can not set max waiting"),
  consumerDeliverCycle: (): ApiError => make(400, 10081, "consumer deliver subject forms a cycle"),
  consumerMaxPendingAckPolicyRequired: (): ApiError =>
    make(400, 10082, "consumer requires ack policy for max ack pending"),
  consumerSmallHeartbeat: (): ApiError => make(400, 10083, "consumer idle heartbeat needs to be >= 100ms"),
  consumerPullRequiresAck: (): ApiError => make(400, 10084, "consumer in pull mode requires ack policy"),
  consumerPullNotDurable: (): ApiError => make(400, 10085, "consumer in pull mode requires a durable name"),
  consumerPullWithRateLimit: (): ApiError => make(400, 10086, "consumer in pull mode can not have rate limit set"),
  consumerMaxWaitingNegative: (): ApiError => make(400, 10087, "consumer max waiting needs to be positive"),
  consumerHBRequiresPush: (): ApiError => make(400, 10088, "consumer idle heartbeat requires a push based consumer"),
  consumerFCRequiresPush: (): ApiError => make(400, 10089, "consumer flow control requires a push based consumer"),
  consumerDirectRequiresPush: (): ApiError => make(400, 10090, "consumer direct requires a push based consumer"),
  consumerDirectRequiresEphemeral: (): ApiError => make(400, 10091, "consumer direct requires an ephemeral consumer"),
  consumerOnMapped: (): ApiError => make(400, 10092, "consumer direct on a mapped consumer"),
  consumerFilterNotSubset: (): ApiError =>
    make(400, 10093, "consumer filter subject is not a valid subset of the interest subjects"),
  consumerInvalidPolicy: (err: string): ApiError => fill(400, 10094, "{err}", { err }),
  consumerInvalidSampling: (err: string): ApiError =>
    fill(400, 10095, "failed to parse consumer sampling configuration: {err}", { err }),
  streamInvalid: (): ApiError => make(500, 10096, "stream not valid"),
  streamHeaderExceedsMaximum: (): ApiError => make(400, 10097, "header size exceeds maximum allowed of 64k"),
  consumerWQRequiresExplicitAck: (): ApiError => make(400, 10098, "workqueue stream requires explicit ack"),
  consumerWQMultipleUnfiltered: (): ApiError =>
    make(400, 10099, "multiple non-filtered consumers not allowed on workqueue stream"),
  consumerWQConsumerNotUnique: (): ApiError => make(400, 10100, "filtered consumer not unique on workqueue stream"),
  consumerWQConsumerNotDeliverAll: (): ApiError => make(400, 10101, "consumer must be deliver all on workqueue stream"),
  consumerNameTooLong: (max: Detail): ApiError =>
    fill(400, 10102, "consumer name is too long, maximum allowed is {max}", { max }),
  consumerBadDurableName: (): ApiError => make(400, 10103, "durable name can not contain '.', '*', '>'"),
  consumerStoreFailed: (err: string): ApiError => fill(500, 10104, "error creating store for consumer: {err}", { err }),
  consumerExistingActive: (): ApiError => make(400, 10105, "consumer already exists and is still active"),
  consumerReplacementWithDifferentName: (): ApiError =>
    make(400, 10106, "consumer replacement durable config not the same"),
  consumerDescriptionTooLong: (max: Detail): ApiError =>
    fill(400, 10107, "consumer description is too long, maximum allowed is {max}", { max }),
  consumerWithFlowControlNeedsHeartbeats: (): ApiError =>
    make(400, 10108, "consumer with flow control also needs heartbeats"),
  streamSealed: (): ApiError => make(400, 10109, "invalid operation on sealed stream"),
  /** 2.11: a stream's ingest queue is over `max_buffered_msgs` / `max_buffered_size`. */
  streamTooManyRequests: (): ApiError => make(429, 10167, "too many requests"),
  streamPurgeFailed: (err: string): ApiError => fill(500, 10110, "{err}", { err }),
  streamRollupFailed: (err: string): ApiError => fill(500, 10111, "{err}", { err }),
  consumerInvalidDeliverSubject: (): ApiError => make(400, 10112, "invalid push consumer deliver subject"),
  streamMaxBytesRequired: (): ApiError => make(400, 10113, "account requires a stream config to have max bytes set"),
  consumerMaxRequestBatchNegative: (): ApiError => make(400, 10114, "consumer max request batch needs to be > 0"),
  consumerMaxRequestExpiresToSmall: (): ApiError => make(400, 10115, "consumer max request expires needs to be >= 1ms"),
  consumerMaxDeliverBackoff: (): ApiError =>
    make(400, 10116, "max deliver is required to be > length of backoff values"),
  streamInfoMaxSubjects: (): ApiError => make(500, 10117, "subject details would exceed maximum allowed"),
  streamOffline: (): ApiError => make(500, 10118, "stream is offline"),
  consumerOffline: (): ApiError => make(500, 10119, "consumer is offline"),
  noLimits: (): ApiError => make(400, 10120, "no JetStream default or applicable tiered limit present"),
  consumerMaxPendingAckExcess: (limit: Detail): ApiError =>
    fill(400, 10121, "consumer max ack pending exceeds system limit of {limit}", { limit }),
  streamMaxStreamBytesExceeded: (): ApiError =>
    make(400, 10122, "stream max bytes exceeds account limit max stream bytes"),
  streamMoveAndScale: (): ApiError => make(400, 10123, "can not move and scale a stream in a single update"),
  streamMoveInProgress: (msg: Detail): ApiError => fill(400, 10124, "stream move already in progress: {msg}", { msg }),
  consumerMaxRequestBatchExceeded: (limit: Detail): ApiError =>
    fill(400, 10125, "consumer max request batch exceeds server limit of {limit}", { limit }),
  consumerReplicasExceedsStream: (): ApiError =>
    make(400, 10126, "consumer config replica count exceeds parent stream"),
  consumerNameContainsPathSeparators: (): ApiError => make(400, 10127, "Consumer name can not contain path separators"),
  streamNameContainsPathSeparators: (): ApiError => make(400, 10128, "Stream name can not contain path separators"),
  streamMoveNotInProgress: (): ApiError => make(400, 10129, "stream move not in progress"),
  streamNameExistRestoreFailed: (): ApiError => make(400, 10130, "stream name already in use, cannot restore"),
  consumerCreateFilterSubjectMismatch: (): ApiError =>
    make(400, 10131, "Consumer create request did not match filtered subject from create subject"),
  consumerCreateDurableAndNameMismatch: (): ApiError =>
    make(400, 10132, "Consumer Durable and Name have to be equal if both are provided"),
  replicasCountCannotBeNegative: (): ApiError => make(400, 10133, "replicas count cannot be negative"),
  consumerDuplicateFilterSubjects: (): ApiError =>
    make(400, 10136, "consumer cannot have both FilterSubject and FilterSubjects specified"),
  consumerMultipleFiltersNotAllowed: (): ApiError =>
    make(400, 10137, "consumer with multiple subject filters cannot use subject based API"),
  consumerOverlappingSubjectFilters: (): ApiError => make(400, 10138, "consumer subject filters cannot overlap"),
  consumerEmptyFilter: (): ApiError => make(400, 10139, "consumer filter in FilterSubjects cannot be empty"),
  // 2.10: metadata, first_seq, the create/update `action` and the stream's consumer limits.
  consumerMetadataLength: (limit: Detail): ApiError =>
    fill(400, 10135, "consumer metadata exceeds maximum size of {limit}", { limit }),
  mirrorWithFirstSeq: (): ApiError => make(400, 10143, "stream mirrors can not have first sequence configured"),
  consumerAlreadyExists: (): ApiError => make(400, 10148, "consumer already exists"),
  consumerDoesNotExist: (): ApiError => make(400, 10149, "consumer does not exist"),
  consumerInactiveThresholdExcess: (limit: Detail): ApiError =>
    fill(400, 10153, "consumer inactive threshold exceeds system limit of {limit}", { limit }),
  sourceDuplicateDetected: (): ApiError => make(400, 10140, "duplicate source configuration detected"),
  sourceInvalidStreamName: (): ApiError => make(400, 10141, "sourced stream name is invalid"),
  mirrorInvalidStreamName: (): ApiError => make(400, 10142, "mirrored stream name is invalid"),
  sourceMultipleFiltersNotAllowed: (): ApiError =>
    make(400, 10144, "source with multiple subject transforms cannot also have a single subject filter"),
  sourceInvalidSubjectFilter: (err: string): ApiError => fill(400, 10145, "source transform source: {err}", { err }),
  sourceInvalidTransformDestination: (err: string): ApiError => fill(400, 10146, "source transform: {err}", { err }),
  sourceOverlappingSubjectFilters: (): ApiError => make(400, 10147, "source filters can not overlap"),
  mirrorMultipleFiltersNotAllowed: (): ApiError =>
    make(400, 10150, "mirror with multiple subject transforms cannot also have a single subject filter"),
  mirrorInvalidSubjectFilter: (err: string): ApiError => fill(400, 10151, "mirror transform source: {err}", { err }),
  mirrorOverlappingSubjectFilters: (): ApiError => make(400, 10152, "mirror subject filters can not overlap"),
  mirrorInvalidTransformDestination: (err: string): ApiError => fill(400, 10154, "mirror transform: {err}", { err }),
  streamTransformInvalidSource: (err: string): ApiError => fill(400, 10155, "stream transform source: {err}", { err }),
  streamTransformInvalidDestination: (err: string): ApiError => fill(400, 10156, "stream transform: {err}", { err }),
  // 2.11 priority groups (consumer/PriorityGroups.ts) and their current-server additions (10196, 10197).
  consumerPriorityPolicyWithoutGroup: (): ApiError =>
    make(400, 10159, "Setting PriorityPolicy requires at least one PriorityGroup to be set"),
  consumerInvalidPriorityGroup: (): ApiError =>
    make(400, 10160, "Provided priority group does not exist for this consumer"),
  consumerEmptyGroupName: (): ApiError => make(400, 10161, "Group name cannot be an empty string"),
  consumerInvalidGroupName: (): ApiError =>
    make(
      400,
      10162,
      "Valid priority group name must match A-Z, a-z, 0-9, -_/=)+ and may not exceed 16 characters"
    ),
  consumerPushWithPriorityGroup: (): ApiError =>
    make(400, 10178, "priority groups can not be used with push consumers"),
  consumerPriorityGroupWithPolicyNone: (): ApiError =>
    make(400, 10196, "consumer can not have priority groups when policy is none"),
  consumerPinnedTTLWithoutPriorityPolicyNone: (): ApiError =>
    make(400, 10197, "PinnedTTL cannot be set when PriorityPolicy is none"),
  messageTtlInvalid: (): ApiError => make(400, 10165, "invalid per-message TTL"),
  messageTtlDisabled: (): ApiError => make(400, 10166, "per-message TTL is disabled"),
  // 2.12 counters (ADR-49); the source header a publish may not carry (main).
  messageIncrDisabled: (): ApiError => make(400, 10168, "message counters is disabled"),
  messageIncrMissing: (): ApiError => make(400, 10169, "message counter increment is missing"),
  messageIncrPayload: (): ApiError => make(400, 10170, "message counter has payload"),
  messageIncrInvalid: (): ApiError => make(400, 10171, "message counter increment is invalid"),
  messageCounterBroken: (): ApiError => make(400, 10172, "message counter is broken"),
  mirrorWithCounters: (): ApiError => make(400, 10173, "stream mirrors can not also calculate counters"),
  messageSourceHdrNotAllowed: (): ApiError => make(400, 10227, "message stream source header is not allowed"),
  // 2.11 `pedantic` requests; the API level header (2.12) and the expected-subject header's check (2.12).
  pedantic: (err: string): ApiError => fill(400, 10157, "pedantic mode: {err}", { err }),
  requiredApiLevel: (): ApiError => make(412, 10185, "JetStream minimum api level required"),
  streamExpectedLastSeqPerSubjectInvalid: (): ApiError =>
    make(400, 10193, "missing sequence for expected last sequence per subject"),
  // 2.14 (ADR-60): CONSUMER.RESET and the flow-control ack policy.
  consumerInvalidReset: (err: string): ApiError => fill(400, 10204, "invalid reset: {err}", { err }),
  consumerAckFCRequiresPush: (): ApiError => make(400, 10218, "flow control ack policy requires a push based consumer"),
  consumerAckFCRequiresFC: (): ApiError => make(400, 10219, "flow control ack policy requires flow control"),
  consumerAckFCRequiresMaxAckPending: (): ApiError =>
    make(400, 10220, "flow control ack policy requires max ack pending"),
  consumerAckFCRequiresNoAckWait: (): ApiError => make(400, 10221, "flow control ack policy requires unset ack wait"),
  consumerAckFCRequiresNoMaxDeliver: (): ApiError =>
    make(400, 10222, "flow control ack policy requires unset max deliver"),
  // 2.14 (ADR-60) durable sourcing: a mirror or source following a consumer the user created.
  mirrorDurableConsumerCfgInvalid: (): ApiError => make(400, 10213, "stream mirror consumer config is invalid"),
  mirrorConsumerRequiresAckFC: (): ApiError =>
    make(400, 10214, "stream mirror consumer requires flow control ack policy"),
  sourceDurableConsumerCfgInvalid: (): ApiError => make(400, 10215, "stream source consumer config is invalid"),
  sourceDurableConsumerDuplicateDetected: (): ApiError => make(400, 10216, "duplicate stream source consumer detected"),
  sourceConsumerRequiresAckFC: (): ApiError =>
    make(400, 10217, "stream source consumer requires flow control ack policy"),
  // 2.12 atomic batch publish (ADR-50; stream/AtomicBatch.ts).
  streamWrongLastSequenceConstant: (): ApiError => make(400, 10164, "wrong last sequence"),
  atomicPublishDisabled: (): ApiError => make(400, 10174, "atomic publish is disabled"),
  atomicPublishMissingSeq: (): ApiError => make(400, 10175, "atomic publish sequence is missing"),
  atomicPublishIncompleteBatch: (): ApiError => make(400, 10176, "atomic publish batch is incomplete"),
  atomicPublishUnsupportedHeaderBatch: (header: Detail): ApiError =>
    fill(400, 10177, "atomic publish unsupported header used: {header}", { header }),
  atomicPublishInvalidBatchID: (): ApiError => make(400, 10179, "atomic publish batch ID is invalid"),
  mirrorWithAtomicPublish: (): ApiError => make(400, 10198, "stream mirrors can not also use atomic publishing"),
  atomicPublishTooLargeBatch: (size: Detail): ApiError =>
    fill(400, 10199, "atomic publish batch is too large: {size}", { size }),
  atomicPublishInvalidBatchCommit: (): ApiError => make(400, 10200, "atomic publish batch commit is invalid"),
  atomicPublishContainsDuplicateMessage: (): ApiError =>
    make(400, 10201, "atomic publish batch contains duplicate message id"),
  atomicPublishTooManyInflight: (): ApiError => make(429, 10210, "atomic publish too many inflight"),
  // 2.14 fast-ingest batches (ADR-50, stream/FastBatch.ts).
  batchPublishDisabled: (): ApiError => make(400, 10205, "batch publish is disabled"),
  batchPublishInvalidPattern: (): ApiError => make(400, 10206, "batch publish pattern is invalid"),
  batchPublishInvalidBatchId: (): ApiError => make(400, 10207, "batch publish ID is invalid"),
  batchPublishUnknownBatchId: (): ApiError => make(400, 10208, "batch publish ID unknown"),
  mirrorWithBatchPublish: (): ApiError => make(400, 10209, "stream mirrors can not also use batch publishing"),
  batchPublishTooManyInflight: (): ApiError => make(429, 10211, "batch publish too many inflight"),
  // 2.12 / 2.14 message schedules (ADR-51).
  mirrorWithMsgSchedules: (): ApiError => make(400, 10186, "stream mirrors can not also schedule messages"),
  sourceWithMsgSchedules: (): ApiError => make(400, 10187, "stream source can not also schedule messages"),
  messageSchedulesDisabled: (): ApiError => make(400, 10188, "message schedules is disabled"),
  messageSchedulesPatternInvalid: (): ApiError => make(400, 10189, "message schedules pattern is invalid"),
  messageSchedulesTargetInvalid: (): ApiError => make(400, 10190, "message schedules target is invalid"),
  messageSchedulesTTLInvalid: (): ApiError => make(400, 10191, "message schedules invalid per-message TTL"),
  messageSchedulesRollupInvalid: (): ApiError => make(400, 10192, "message schedules invalid rollup"),
  messageSchedulesSourceInvalid: (): ApiError => make(400, 10203, "message schedules source is invalid"),
  messageSchedulesSchedulerInvalid: (): ApiError => make(400, 10212, "message schedules invalid scheduler"),
  messageSchedulesTimeZoneInvalid: (): ApiError => make(400, 10223, "message schedules time zone is invalid")
} as const

export type ApiErrorName = keyof typeof ApiErrors

/** `err_code` of every error in the table, by constructor name, for matching replies. */
export const ApiErrorCodes: { readonly [K in ApiErrorName]: number } = {
  accountResourcesExceeded: 10002,
  badRequest: 10003,
  clusterIncomplete: 10004,
  clusterNoPeers: 10005,
  clusterNotActive: 10006,
  clusterNotAssigned: 10007,
  clusterNotAvail: 10008,
  clusterNotLeader: 10009,
  clusterRequired: 10010,
  clusterTags: 10011,
  consumerCreate: 10012,
  consumerNameExist: 10013,
  consumerNotFound: 10014,
  snapshotDeliverSubjectInvalid: 10015,
  consumerDurableNameNotInSubject: 10016,
  consumerDurableNameNotMatchSubject: 10017,
  consumerDurableNameNotSet: 10018,
  consumerEphemeralWithDurableInSubject: 10019,
  consumerEphemeralWithDurableName: 10020,
  streamExternalApiOverlap: 10021,
  streamExternalDelPrefixOverlaps: 10022,
  insufficientResources: 10023,
  streamInvalidExternalDeliverySubj: 10024,
  invalidJSON: 10025,
  maximumConsumersLimit: 10026,
  maximumStreamsLimit: 10027,
  memoryResourcesExceeded: 10028,
  mirrorConsumerSetupFailed: 10029,
  mirrorMaxMessageSizeTooBig: 10030,
  mirrorWithSources: 10031,
  mirrorWithStartSeqAndTime: 10032,
  mirrorWithSubjectFilters: 10033,
  mirrorWithSubjects: 10034,
  noAccount: 10035,
  clusterUnSupportFeature: 10036,
  noMessageFound: 10037,
  notEmptyRequest: 10038,
  notEnabledForAccount: 10039,
  clusterPeerNotMember: 10040,
  raftGeneral: 10041,
  restoreSubscribeFailed: 10042,
  sequenceNotFound: 10043,
  clusterServerNotMember: 10044,
  sourceConsumerSetupFailed: 10045,
  sourceMaxMessageSizeTooBig: 10046,
  storageResourcesExceeded: 10047,
  streamAssignment: 10048,
  streamCreate: 10049,
  streamDelete: 10050,
  streamGeneralError: 10051,
  streamInvalidConfig: 10052,
  streamLimits: 10053,
  streamMessageExceedsMaximum: 10054,
  streamMirrorNotUpdatable: 10055,
  streamMismatch: 10056,
  streamMsgDeleteFailed: 10057,
  streamNameExist: 10058,
  streamNotFound: 10059,
  streamNotMatch: 10060,
  streamReplicasNotUpdatable: 10061,
  streamRestore: 10062,
  streamSequenceNotMatch: 10063,
  streamSnapshot: 10064,
  streamSubjectOverlap: 10065,
  streamTemplateCreate: 10066,
  streamTemplateDelete: 10067,
  streamTemplateNotFound: 10068,
  streamUpdate: 10069,
  streamWrongLastMsgID: 10070,
  streamWrongLastSequence: 10071,
  tempStorageFailed: 10072,
  templateNameNotMatchSubject: 10073,
  streamReplicasNotSupported: 10074,
  peerRemap: 10075,
  notEnabled: 10076,
  streamStoreFailed: 10077,
  consumerConfigRequired: 10078,
  consumerDeliverToWildcards: 10079,
  consumerPushMaxWaiting: 10080,
  consumerDeliverCycle: 10081,
  consumerMaxPendingAckPolicyRequired: 10082,
  consumerSmallHeartbeat: 10083,
  consumerPullRequiresAck: 10084,
  consumerPullNotDurable: 10085,
  consumerPullWithRateLimit: 10086,
  consumerMaxWaitingNegative: 10087,
  consumerHBRequiresPush: 10088,
  consumerFCRequiresPush: 10089,
  consumerDirectRequiresPush: 10090,
  consumerDirectRequiresEphemeral: 10091,
  consumerOnMapped: 10092,
  consumerFilterNotSubset: 10093,
  consumerInvalidPolicy: 10094,
  consumerInvalidSampling: 10095,
  streamInvalid: 10096,
  streamHeaderExceedsMaximum: 10097,
  consumerWQRequiresExplicitAck: 10098,
  consumerWQMultipleUnfiltered: 10099,
  consumerWQConsumerNotUnique: 10100,
  consumerWQConsumerNotDeliverAll: 10101,
  consumerNameTooLong: 10102,
  consumerBadDurableName: 10103,
  consumerStoreFailed: 10104,
  consumerExistingActive: 10105,
  consumerReplacementWithDifferentName: 10106,
  consumerDescriptionTooLong: 10107,
  consumerWithFlowControlNeedsHeartbeats: 10108,
  streamSealed: 10109,
  streamTooManyRequests: 10167,
  streamPurgeFailed: 10110,
  streamRollupFailed: 10111,
  consumerInvalidDeliverSubject: 10112,
  streamMaxBytesRequired: 10113,
  consumerMaxRequestBatchNegative: 10114,
  consumerMaxRequestExpiresToSmall: 10115,
  consumerMaxDeliverBackoff: 10116,
  streamInfoMaxSubjects: 10117,
  streamOffline: 10118,
  consumerOffline: 10119,
  noLimits: 10120,
  consumerMaxPendingAckExcess: 10121,
  streamMaxStreamBytesExceeded: 10122,
  streamMoveAndScale: 10123,
  streamMoveInProgress: 10124,
  consumerMaxRequestBatchExceeded: 10125,
  consumerReplicasExceedsStream: 10126,
  consumerNameContainsPathSeparators: 10127,
  streamNameContainsPathSeparators: 10128,
  streamMoveNotInProgress: 10129,
  streamNameExistRestoreFailed: 10130,
  consumerCreateFilterSubjectMismatch: 10131,
  consumerCreateDurableAndNameMismatch: 10132,
  replicasCountCannotBeNegative: 10133,
  consumerDuplicateFilterSubjects: 10136,
  consumerMultipleFiltersNotAllowed: 10137,
  consumerOverlappingSubjectFilters: 10138,
  consumerEmptyFilter: 10139,
  consumerMetadataLength: 10135,
  mirrorWithFirstSeq: 10143,
  consumerAlreadyExists: 10148,
  consumerDoesNotExist: 10149,
  consumerInactiveThresholdExcess: 10153,
  sourceDuplicateDetected: 10140,
  sourceInvalidStreamName: 10141,
  mirrorInvalidStreamName: 10142,
  sourceMultipleFiltersNotAllowed: 10144,
  sourceInvalidSubjectFilter: 10145,
  sourceInvalidTransformDestination: 10146,
  sourceOverlappingSubjectFilters: 10147,
  mirrorMultipleFiltersNotAllowed: 10150,
  mirrorInvalidSubjectFilter: 10151,
  mirrorOverlappingSubjectFilters: 10152,
  mirrorInvalidTransformDestination: 10154,
  streamTransformInvalidSource: 10155,
  streamTransformInvalidDestination: 10156,
  consumerPriorityPolicyWithoutGroup: 10159,
  consumerInvalidPriorityGroup: 10160,
  consumerEmptyGroupName: 10161,
  consumerInvalidGroupName: 10162,
  consumerPushWithPriorityGroup: 10178,
  consumerPriorityGroupWithPolicyNone: 10196,
  consumerPinnedTTLWithoutPriorityPolicyNone: 10197,
  messageTtlInvalid: 10165,
  messageTtlDisabled: 10166,
  messageIncrDisabled: 10168,
  messageIncrMissing: 10169,
  messageIncrPayload: 10170,
  messageIncrInvalid: 10171,
  messageCounterBroken: 10172,
  mirrorWithCounters: 10173,
  messageSourceHdrNotAllowed: 10227,
  pedantic: 10157,
  requiredApiLevel: 10185,
  streamExpectedLastSeqPerSubjectInvalid: 10193,
  consumerInvalidReset: 10204,
  consumerAckFCRequiresPush: 10218,
  consumerAckFCRequiresFC: 10219,
  consumerAckFCRequiresMaxAckPending: 10220,
  consumerAckFCRequiresNoAckWait: 10221,
  consumerAckFCRequiresNoMaxDeliver: 10222,
  mirrorDurableConsumerCfgInvalid: 10213,
  mirrorConsumerRequiresAckFC: 10214,
  sourceDurableConsumerCfgInvalid: 10215,
  sourceDurableConsumerDuplicateDetected: 10216,
  sourceConsumerRequiresAckFC: 10217,
  streamWrongLastSequenceConstant: 10164,
  atomicPublishDisabled: 10174,
  atomicPublishMissingSeq: 10175,
  atomicPublishIncompleteBatch: 10176,
  atomicPublishUnsupportedHeaderBatch: 10177,
  atomicPublishInvalidBatchID: 10179,
  mirrorWithAtomicPublish: 10198,
  atomicPublishTooLargeBatch: 10199,
  atomicPublishInvalidBatchCommit: 10200,
  atomicPublishContainsDuplicateMessage: 10201,
  atomicPublishTooManyInflight: 10210,
  batchPublishDisabled: 10205,
  batchPublishInvalidPattern: 10206,
  batchPublishInvalidBatchId: 10207,
  batchPublishUnknownBatchId: 10208,
  mirrorWithBatchPublish: 10209,
  batchPublishTooManyInflight: 10211,
  mirrorWithMsgSchedules: 10186,
  sourceWithMsgSchedules: 10187,
  messageSchedulesDisabled: 10188,
  messageSchedulesPatternInvalid: 10189,
  messageSchedulesTargetInvalid: 10190,
  messageSchedulesTTLInvalid: 10191,
  messageSchedulesRollupInvalid: 10192,
  messageSchedulesSourceInvalid: 10203,
  messageSchedulesSchedulerInvalid: 10212,
  messageSchedulesTimeZoneInvalid: 10223
}

/** The wire members of an error (what a client decodes from a reply). */
export interface ApiErrorFields {
  readonly code: number
  readonly err_code: number
  readonly description: string
}

/** Is `u` shaped like an error (e.g. the `error` member of a decoded reply)? */
export const isApiError = (u: unknown): u is ApiErrorFields =>
  typeof u === "object" && u !== null && typeof (u as ApiErrorFields).code === "number" &&
  typeof (u as ApiErrorFields).err_code === "number" && typeof (u as ApiErrorFields).description === "string"

/**
 * A successful API reply: `{"type": <type>, ...body}` with `type` first, as nats-server's
 * `ApiResponse` embedding produces it (a `type` key inside `body` is ignored). Encoded with
 * `encodeJson`, so bigint sequences are written exactly and `<>&` are escaped like Go.
 */
export const apiResponse = (type: string, body: Record<string, unknown>): string => {
  const out: Record<string, unknown> = { type }
  for (const key of Object.keys(body)) {
    if (key !== "type") out[key] = body[key]
  }
  return encodeJson(out)
}

/**
 * An error reply: `{"type": <type>, "error": {"code", "err_code", "description"}, ...zero}`. `zero`
 * holds the members of nats-server's response struct that have no `omitempty` and so appear in
 * its error replies too (e.g. `"purged":0` of a purge response).
 */
export const apiErrorResponse = (type: string, error: ApiError, zero: Record<string, unknown> = {}): string =>
  encodeJson({ type, error: { code: error.code, err_code: error.err_code, description: error.description }, ...zero })
