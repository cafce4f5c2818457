// The signed-in principal's credentials and the SDK clients that use them. The secret lives in
// this tab's sessionStorage only (gone when the tab closes; never sent anywhere but in request
// signatures). Every client talks to one endpoint: by default the origin that served the console,
// since Hangar serves all its APIs on one port; a console served elsewhere names Hangar's.
import { S3Client } from "@aws-sdk/client-s3";
import { KMSClient } from "@aws-sdk/client-kms";
import { IAMClient } from "@aws-sdk/client-iam";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { SecurityHubClient } from "@aws-sdk/client-securityhub";

const STORAGE_KEY = "hangar-console-session";
let clients = {};
let identity = null;

export function storedSession() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
  } catch {
    return null;
  }
}

function config(session) {
  const credentials = {
    accessKeyId: session.accessKeyId,
    secretAccessKey: session.secretAccessKey,
    ...(session.sessionToken ? { sessionToken: session.sessionToken } : {}),
  };
  return { region: session.region, endpoint: session.endpoint || window.location.origin, credentials,
           maxAttempts: 1 };
}

function makeClients(session) {
  const base = config(session);
  return {
    s3: new S3Client({ ...base, forcePathStyle: true }),
    kms: new KMSClient(base),
    iam: new IAMClient(base),
    sts: new STSClient(base),
    cloudtrail: new CloudTrailClient(base),
    securityhub: new SecurityHubClient(base),
  };
}

// Checks the credentials with sts:GetCallerIdentity (allowed to every principal) and keeps them.
export async function signIn(session) {
  const candidate = makeClients(session);
  const who = await candidate.sts.send(new GetCallerIdentityCommand({}));
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  clients = candidate;
  identity = { arn: who.Arn, account: who.Account, userId: who.UserId, region: session.region };
  return identity;
}

// On page load: resume the tab's session, if any.
export async function resume() {
  const session = storedSession();
  if (!session) return null;
  try {
    return await signIn(session);
  } catch {
    signOut();
    return null;
  }
}

export function signOut() {
  sessionStorage.removeItem(STORAGE_KEY);
  clients = {};
  identity = null;
}

export function currentIdentity() {
  return identity;
}

export function client(name) {
  const c = clients[name];
  if (!c) throw new Error("Not signed in");
  return c;
}
