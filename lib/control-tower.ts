/**
 * AWS Control Tower's proactive controls, as `@cdklabs/cdk-validator-cfnguard` checks them on the synthesized
 * template (test/infra/control-tower.test.ts). The findings that stay, by design, are acknowledged here, each with its
 * reason beside the resource it concerns, the same way cdk-nag's are.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** The rule names the validator reports (its `ruleName`), by Control Tower control. */
export const CONTROL_TOWER_RULE = {
  /** CT.APIGATEWAY.PR.5: routes specify an authorization type. */
  routeAuthorization: 'api_gw_v2_authorization_type_configured_check',
  /** CT.CLOUDWATCH.PR.1: alarms have an action. */
  alarmAction: 'cloudwatch_alarm_action_check',
  /** CT.CLOUDWATCH.PR.2: log groups kept at least a year. */
  logRetentionOneYear: 'cloudwatch_log_group_retention_period_check',
  /** CT.CLOUDWATCH.PR.3: log groups encrypted with a KMS key. */
  logGroupKms: 'cloudwatch_log_group_encrypted_check',
  /** CT.LAMBDA.PR.2: function policies prohibit public access. */
  lambdaPublicAccess: 'lambda_function_public_access_prohibited_check',
  /** CT.LAMBDA.PR.3: functions in a VPC. */
  lambdaInVpc: 'lambda_inside_vpc_check',
  /** CT.S3.PR.2: server access logging. */
  bucketLogging: 's3_bucket_logging_enabled_check',
  /** CT.S3.PR.4: event notifications. */
  bucketNotifications: 's3_event_notifications_enabled_check',
  /** CT.S3.PR.9: Object Lock. */
  bucketObjectLock: 's3_bucket_object_lock_enabled_check',
  /** CT.S3.PR.10: SSE-KMS. */
  bucketKms: 's3_bucket_default_encryption_kms_check',
  /** CT.ATHENA.PR.2: workgroup query results encrypted with KMS. */
  athenaResultsKms: 'athena_workgroup_results_encrypted_at_rest_kms_check',
} as const;
export type ControlTowerRule = (typeof CONTROL_TOWER_RULE)[keyof typeof CONTROL_TOWER_RULE];

/** The validator's plugin name, the namespace of its rule ids in acknowledgements. */
export const CONTROL_TOWER_PLUGIN = 'cdk-validator-cfnguard';

/** Acknowledges a Control Tower finding on `scope` (and the resources under it), with the reason it stays. */
export function acknowledgeControlTowerRule(scope: IConstruct, rule: ControlTowerRule, reason: string): void {
  Validations.of(scope).acknowledge({ id: `${CONTROL_TOWER_PLUGIN}::${rule}`, reason });
}
