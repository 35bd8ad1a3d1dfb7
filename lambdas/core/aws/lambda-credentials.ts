/**
 * Credentials inside Lambda: the execution role's, which Lambda always puts in the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). The handlers give every client this provider, and the bundles resolve
 * `@aws-sdk/credential-provider-node` (the SDK's default chain) to this module (lib/lambda-bundling.ts), so they carry
 * none of the SSO, STS, INI, process or instance-metadata providers a function can never use. The command-line tools
 * and the local pipeline are not bundled: they keep the SDK's default chain or pass credentials of their own.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** The provider each Lambda handler passes to its clients. */
export const lambdaCredentials = fromEnv;

/** What the bundles import in place of the default chain's `defaultProvider`: the environment, nothing else. */
export const defaultProvider = fromEnv;
