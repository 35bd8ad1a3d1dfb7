import { Aws, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/core/contract.js';
import type { ProjectFunction } from './project-function.js';

export interface IntegrationSecretsProps {
  /**
   * Complete ARN (with its 6-character suffix) of an existing secret holding the webhook's HMAC secret(s).
   * @default - the stack creates the secret with a random placeholder value; put the real one in after deploying
   */
  readonly webhookSecretArn?: string;
  /**
   * Complete ARN of an existing secret holding the ElevenLabs API key.
   * @default - the stack creates the secret with a random placeholder value; put the real one in after deploying
   */
  readonly apiKeySecretArn?: string;
  /**
   * Key for the secrets the stack creates (imported secrets keep their own).
   * @default - the AWS-managed key `aws/secretsmanager`
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The two secrets the integration needs: the webhook's HMAC secret (receiver) and the ElevenLabs API key (poller).
 * Created secrets get a random value from Secrets Manager at deploy time, so no secret value is ever in the template;
 * the operator replaces it with the real one (`aws secretsmanager put-secret-value`).
 */
export class IntegrationSecrets extends Construct {
  public readonly webhookSecret: secretsmanager.ISecret;
  public readonly apiKeySecret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: IntegrationSecretsProps = {}) {
    super(scope, id);
    this.webhookSecret = this.secret(
      'WebhookSecret',
      props.webhookSecretArn,
      'ElevenLabs post-call webhook HMAC secret: the wsec_ value, or a JSON array ["current","previous"] while rotating',
      props.encryptionKey,
    );
    this.apiKeySecret = this.secret('ApiKeySecret', props.apiKeySecretArn, 'ElevenLabs API key used by the back-fill poller', props.encryptionKey);
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

  private secret(id: string, arn: string | undefined, description: string, encryptionKey: kms.IKey | undefined): secretsmanager.ISecret {
    if (arn !== undefined) return secretsmanager.Secret.fromSecretCompleteArn(this, id, arn);
    const secret = new secretsmanager.Secret(this, id, {
      description,
      encryptionKey,
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
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
      }),
    );
  }
}
