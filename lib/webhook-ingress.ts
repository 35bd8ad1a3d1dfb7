import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_SECRET_CACHE_TTL_SECS, DEFAULT_SIGNATURE_MAX_FUTURE_SKEW_SECS, ENV, SERVICE } from '../lambdas/core/contract.js';
import type { ConversationBucket } from './conversation-bucket.js';
import type { ConversationQueue } from './conversation-queue.js';
import type { IntegrationSecrets } from './integration-secrets.js';
import { acknowledgeControlTowerRule, CONTROL_TOWER_RULE } from './control-tower.js';
import { acknowledgeLogGroupFindings, ProjectFunction, projectPath, type ProjectFunctionSharedProps } from './project-function.js';

/** The one route ElevenLabs posts to. */
export const WEBHOOK_PATH = '/webhooks/elevenlabs';

export interface WebhookIngressProps {
  readonly secrets: IntegrationSecrets;
  readonly queue: ConversationQueue;
  readonly bucket: ConversationBucket;
  /** Log, key and tracing settings every function shares. */
  readonly functionDefaults?: ProjectFunctionSharedProps;
  /**
   * Steady-state requests per second the stage accepts before answering 429.
   * @default 50
   */
  readonly throttleRateLimit?: number;
  /**
   * Burst of requests the stage accepts above the rate.
   * @default 100
   */
  readonly throttleBurstLimit?: number;
  /**
   * Seconds a signature timestamp may lie in the future (SIGNATURE_MAX_FUTURE_SKEW_SECS).
   * @default 300
   */
  readonly signatureMaxFutureSkewSecs?: number;
  /**
   * How long the receiver caches the webhook secret (SECRET_CACHE_TTL_SECS); also how long a rotation takes to apply.
   * @default 300
   */
  readonly secretCacheTtlSecs?: number;
  /**
   * Source IP addresses allowed to call the webhook (ALLOWED_SOURCE_IPS), checked in the function because HTTP APIs
   * have no resource policy.
   * @default - any source; the HMAC signature is the authentication
   */
  readonly allowedSourceIps?: readonly string[];
  /**
   * Concurrency reserved for (and capping) the receiver.
   * @default - unreserved; the stage throttle limits the load
   */
  readonly reservedConcurrency?: number;
  /**
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Memory for the receiver; also buys CPU for hashing and gzipping bodies up to 6 MB.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Entry file of the receiver.
   * @default lambdas/receiver/handler.ts
   */
  readonly entry?: string;
}

/**
 * The public edge: an HTTP API whose only route, `POST /webhooks/elevenlabs`, invokes the receiver (payload v2).
 * The default stage is throttled and writes JSON access logs (request metadata only: HTTP APIs cannot log bodies).
 * The receiver verifies the HMAC, archives the body under `events/`, and queues the event.
 */
export class WebhookIngress extends Construct {
  public readonly api: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  public readonly accessLogGroup: logs.LogGroup;
  public readonly receiver: ProjectFunction;
  /** Full URL to configure in ElevenLabs. */
  public readonly webhookUrl: string;

  constructor(scope: Construct, id: string, props: WebhookIngressProps) {
    super(scope, id);
    const defaults = props.functionDefaults ?? {};

    const environment: Record<string, string> = {
      [ENV.signatureMaxFutureSkewSecs]: String(props.signatureMaxFutureSkewSecs ?? DEFAULT_SIGNATURE_MAX_FUTURE_SKEW_SECS),
      [ENV.secretCacheTtlSecs]: String(props.secretCacheTtlSecs ?? DEFAULT_SECRET_CACHE_TTL_SECS),
    };
    if (props.allowedSourceIps !== undefined && props.allowedSourceIps.length > 0) {
      environment[ENV.allowedSourceIps] = props.allowedSourceIps.join(',');
    }
    this.receiver = new ProjectFunction(this, 'Receiver', {
      ...defaults,
      entry: props.entry ?? projectPath('lambdas/receiver/handler.ts'),
      serviceName: SERVICE.receiver,
      description: 'Verifies ElevenLabs post-call webhooks, archives them and queues them',
      timeout: props.timeout ?? Duration.seconds(10),
      memorySize: props.memorySize ?? 512,
      reservedConcurrentExecutions: props.reservedConcurrency,
      environment,
    });
    props.secrets.bindWebhookSecretReader(this.receiver);
    props.queue.bindSender(this.receiver);
    props.bucket.bindEventArchiveWriter(this.receiver);

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: defaults.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: defaults.logRemovalPolicy ?? RemovalPolicy.RETAIN,
      encryptionKey: defaults.encryptionKey,
    });

    this.api = new apigwv2.HttpApi(this, 'HttpApi', {
      // Derived from the stack name, so parallel stacks stay apart in the console (names need not be unique).
      apiName: `${Stack.of(this).stackName}-webhooks`,
      description: 'ElevenLabs post-call webhooks',
      createDefaultStage: false,
    });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? 50, burstLimit: props.throttleBurstLimit ?? 100 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTimeEpoch',
            sourceIp: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    this.api.addRoutes({
      path: WEBHOOK_PATH,
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpLambdaIntegration('Receiver', this.receiver.function, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      }),
    });
    const hmacOnly =
      'ElevenLabs cannot send IAM/JWT credentials; each request is authenticated by its HMAC signature over the raw body, which only the function can check (an authorizer never sees the body).';
    for (const route of this.api.node.findAll().filter((c) => c instanceof apigwv2.HttpRoute)) {
      Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: hmacOnly });
      acknowledgeControlTowerRule(route, CONTROL_TOWER_RULE.routeAuthorization, hmacOnly);
      acknowledgeControlTowerRule(
        route,
        CONTROL_TOWER_RULE.lambdaPublicAccess,
        "The invoke permission is for apigateway.amazonaws.com with SourceArn set to this API's route (an Fn::Join the rule cannot evaluate), so nothing else can invoke the receiver.",
      );
    }
    acknowledgeLogGroupFindings(this.accessLogGroup, defaults);
    this.webhookUrl = `${this.stage.url}${WEBHOOK_PATH.slice(1)}`;
  }
}
