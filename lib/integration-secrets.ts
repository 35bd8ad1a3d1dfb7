import { RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { API_KEY_PLACEHOLDER, ENV } from '../lambdas/core/contract.js';
import type { ProjectFunction } from './project-function.js';
import { viaService } from './project-key.js';

export interface IntegrationSecretsProps {
  /**
   * Complete ARN (with its 6-character suffix) of an existing secret holding the webhook's HMAC secret(s).
   * @default - the stack creates the secret with a random placeholder value; put the real one in after deploying
   */
  readonly webhookSecretArn?: string;
  /**
   * Customer-managed key encrypting the imported webhook secret; readers get kms:Decrypt on it through Secrets
   * Manager only. Its key policy must let this account's IAM policies grant it (the default key policy does).
   * @default - the AWS-managed key `aws/secretsmanager`, which needs no grant
   */
  readonly webhookSecretKmsKeyArn?: string;
  /**
   * Complete ARN of an existing secret holding the ElevenLabs API key.
   * @default - the stack creates the secret holding API_KEY_PLACEHOLDER; put the real key in after deploying
   */
  readonly apiKeySecretArn?: string;
  /**
   * Customer-managed key encrypting the imported API-key secret (as `webhookSecretKmsKeyArn`).
   * @default - the AWS-managed key `aws/secretsmanager`
   */
  readonly apiKeySecretKmsKeyArn?: string;
  /**
   * Key for the secrets the stack creates (imported secrets keep their own).
   * @default - the AWS-managed key `aws/secretsmanager`
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The two secrets the integration needs: the webhook's HMAC secret (receiver) and the ElevenLabs API key (poller).
 * The created webhook secret gets a random value from Secrets Manager at deploy time (a known value would let anyone
 * sign webhooks until the real one is in). The created API-key secret holds API_KEY_PLACEHOLDER, a fixed text that is
 * no credential, so the poller can tell "not set yet" from a wrong key. The operator puts the real values in
 * (`aws secretsmanager put-secret-value`).
 */
export class IntegrationSecrets extends Construct {
  public readonly webhookSecret: secretsmanager.ISecret;
  public readonly apiKeySecret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: IntegrationSecretsProps = {}) {
    super(scope, id);
    this.webhookSecret =
      props.webhookSecretArn === undefined
        ? this.secret('WebhookSecret', 'ElevenLabs post-call webhook HMAC secret: the wsec_ value, or a JSON array ["current","previous"] while rotating', props.encryptionKey)
        : this.imported('WebhookSecret', props.webhookSecretArn, props.webhookSecretKmsKeyArn);
    this.apiKeySecret =
      props.apiKeySecretArn === undefined
        ? this.secret('ApiKeySecret', 'ElevenLabs API key used by the back-fill poller', props.encryptionKey, API_KEY_PLACEHOLDER)
        : this.imported('ApiKeySecret', props.apiKeySecretArn, props.apiKeySecretKmsKeyArn);
  }

  private imported(id: string, arn: string, keyArn: string | undefined): secretsmanager.ISecret {
    const encryptionKey = keyArn === undefined ? undefined : kms.Key.fromKeyArn(this, `${id}Key`, keyArn);
    return secretsmanager.Secret.fromSecretAttributes(this, id, { secretCompleteArn: arn, ...(encryptionKey === undefined ? {} : { encryptionKey }) });
  }

  /** Sets WEBHOOK_SECRET_NAME and allows reading that secret's value. */
  bindWebhookSecretReader(fn: ProjectFunction): void {
    fn.addEnvironment(ENV.webhookSecretName, this.webhookSecret.secretArn);
    grantSecretValue(fn, this.webhookSecret);
  }

  /** Sets ELEVENLABS_API_KEY_SECRET_NAME and allows reading that secret's value. */
  bindApiKeyReader(fn: ProjectFunction): void {
    fn.addEnvironment(ENV.apiKeySecretName, this.apiKeySecret.secretArn);
    grantSecretValue(fn, this.apiKeySecret);
  }

  private secret(id: string, description: string, encryptionKey: kms.IKey | undefined, placeholder?: string): secretsmanager.ISecret {
    const secret = new secretsmanager.Secret(this, id, {
      description,
      encryptionKey,
      // No credential: see API_KEY_PLACEHOLDER.
      ...(placeholder === undefined ? {} : { secretStringValue: SecretValue.unsafePlainText(placeholder) }),
      // The value is pasted in by hand and shown by ElevenLabs only once: keep it if the stack goes away.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The value is issued by ElevenLabs, not by us: rotation is manual (create a new secret/key in ElevenLabs, store ["new","old"], then drop the old one). A rotation Lambda cannot mint ElevenLabs credentials.',
    });
    return secret;
  }
}

/** GetSecretValue only (no DescribeSecret or writes), plus Decrypt through Secrets Manager when a stack key encrypts it. */
function grantSecretValue(fn: ProjectFunction, secret: secretsmanager.ISecret): void {
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }));
  if (secret.encryptionKey !== undefined) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [secret.encryptionKey.keyArn],
        conditions: viaService('secretsmanager'),
      }),
    );
  }
}
