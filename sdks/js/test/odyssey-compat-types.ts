// Compiled by `npm run typecheck` only: an app typed against the official SDK
// (@odysseyml/odyssey, a devDependency at the version README's table names) compiles against
// ours once its import is changed. Each line puts the official type where ours is used, or
// ours where the official one is used.
import * as Official from "@odysseyml/odyssey";
import * as Ours from "@ithaca/sdk";
import * as OursServer from "@ithaca/sdk/server";

// Known gap (README): ours' capabilities is `{}`, not undefined, when the server sent none, so
// its image_to_video may be absent where the official type says it is there when capabilities
// is. Credentials are compared with that one field relaxed.
type OfficialCredentials = Omit<Official.ClientCredentials, "capabilities"> & {
  capabilities?: Partial<Official.StreamerCapabilities>;
};
type MintsCredentials = { createClientCredentials(): Promise<OfficialCredentials> };

// The client: every public member of the official Odyssey, with ours in its place.
type OfficialClient = Omit<Official.Odyssey, "createClientCredentials"> & MintsCredentials;
declare const keyed: OursServer.Odyssey;
declare const browserOnly: Ours.Odyssey;
const asOfficial: OfficialClient = keyed;
const browserAsOfficial: OfficialClient = browserOnly;
// Official.SpectatorConnection has private fields, so no other class is one: its public
// members are what must match (`sp` below).
type OfficialSpectator = Pick<Official.SpectatorConnection, keyof Official.SpectatorConnection>;
const statics: (
  ...args: Parameters<typeof Official.Odyssey.connectToStream>
) => Promise<OfficialSpectator> = OursServer.Odyssey.connectToStream;
const construct: new (config?: Official.ClientConfig) => OursServer.Odyssey = OursServer.Odyssey;
const constructBrowser: new (config?: Official.ClientConfig) => Ours.Odyssey = Ours.Odyssey;

// What an app passes in.
declare const handlers: Official.OdysseyEventHandlers;
declare const start: Official.StartStreamOptions;
declare const interact: Official.InteractOptions;
declare const config: Official.ClientConfig;
declare const listOptions: Official.ListStreamRecordingsOptions;
declare const usage: Official.UsageErrorData;
const h: Ours.OdysseyEventHandlers = handlers;
const s: Ours.StartStreamOptions = start;
const i: Ours.InteractOptions = interact;
const c: Ours.ClientConfig = config;
const l: Ours.ListStreamRecordingsOptions = listOptions;
const u: Ours.UsageErrorData = usage;

// What an app gets back.
declare const info: Ours.BroadcastInfo;
declare const status: Ours.ConnectionStatus;
declare const recording: Ours.Recording;
declare const summary: Ours.StreamRecordingSummary;
declare const list: Ours.StreamRecordingsListResponse;
declare const spectator: Ours.SpectatorConnection;
declare const client: Ours.OdysseyClient;
const b: Official.BroadcastInfo = info;
const st: Official.ConnectionStatus = status;
const r: Official.Recording = recording;
const sm: Official.StreamRecordingSummary = summary;
const ls: Official.StreamRecordingsListResponse = list;
const sp: OfficialSpectator = spectator;
const oc: Official.OdysseyClient = client;

// The functions, each usable where the official one is.
const fns: Pick<
  typeof Official,
  "credentialsToDict" | "extractSessionId" | "setDebug" | "throwIfUsageError"
> = Ours;
const fromParts: (
  ...args: Parameters<typeof Official.createClientCredentials>
) => OfficialCredentials = Ours.createClientCredentials;
const serverFromParts: (
  ...args: Parameters<typeof Official.createClientCredentials>
) => OfficialCredentials = OursServer.createClientCredentials;
const fromDict: (data: Record<string, unknown>) => Ours.ClientCredentials =
  Ours.credentialsFromDict;

// The error classes: the same hierarchy. (Ours' `action` may be null: not in the Pick.)
const errors: Array<new (message: string) => Error> = [
  Ours.OdysseyError,
  Ours.OdysseyAuthError,
  Ours.OdysseyConnectionError,
  Ours.OdysseyStreamError,
  Ours.OdysseyUsageError,
  Ours.MonthlyLimitReachedError,
  Ours.ConcurrentLimitReachedError,
  Ours.StreamDurationExceededError,
  Ours.AccountSuspendedError,
  Ours.RateLimitError,
];
declare const usageError: Ours.OdysseyUsageError;
const usageFields: Pick<Official.OdysseyUsageError, "code" | "details" | "message"> = usageError;

void [asOfficial, browserAsOfficial, statics, construct, constructBrowser, h, s, i, c, l, u];
void [b, st, r, sm, ls, sp, oc, fns, fromParts, serverFromParts, fromDict, errors, usageFields];
