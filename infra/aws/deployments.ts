/**
 * How a deploy reaches the functions: each function's `live` alias (infra/aws/live-alias-plugin.ts)
 * moves to the new version under CodeDeploy. By default all at once; with
 * `--param canaryPercent=10` a canary: that share of the invocations goes to the new version for
 * `canaryMinutes` (10), then all of it, unless one of the function's alarms fires first, which
 * rolls the alias back to the old version. Events are idempotent, so a job whose events reach both
 * versions still runs once.
 */
import { forThisAccount, role } from './iam.ts';

export const LIVE_ALIAS = 'live';
export const DEPLOYMENT_APPLICATION = 'QpipeDeployments';

/** The deployment group's logical ID of a function (validate → ValidateDeploymentGroup). */
export const deploymentGroupOf = (pascal: string) => `${pascal}DeploymentGroup`;

/** CodeDeploy's application and role, the canary's traffic shift, one deployment group per function. */
export function deploymentResources(functions: readonly { pascal: string; alarms: readonly string[] }[]) {
  const groups = Object.fromEntries(
    functions.map(({ pascal, alarms }) => [
      deploymentGroupOf(pascal),
      {
        Type: 'AWS::CodeDeploy::DeploymentGroup',
        Properties: {
          ApplicationName: { Ref: DEPLOYMENT_APPLICATION },
          ServiceRoleArn: { 'Fn::GetAtt': ['CodeDeployRole', 'Arn'] },
          DeploymentConfigName: {
            'Fn::If': ['CanaryOn', { Ref: 'CanaryDeploymentConfig' }, 'CodeDeployDefault.LambdaAllAtOnce'],
          },
          DeploymentStyle: { DeploymentType: 'BLUE_GREEN', DeploymentOption: 'WITH_TRAFFIC_CONTROL' },
          AutoRollbackConfiguration: { Enabled: true, Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM'] },
          ...(alarms.length > 0
            ? { AlarmConfiguration: { Enabled: true, Alarms: alarms.map((alarm) => ({ Name: { Ref: alarm } })) } }
            : {}),
        },
      },
    ]),
  );
  return {
    [DEPLOYMENT_APPLICATION]: { Type: 'AWS::CodeDeploy::Application', Properties: { ComputePlatform: 'Lambda' } },
    CanaryDeploymentConfig: {
      Type: 'AWS::CodeDeploy::DeploymentConfig',
      Condition: 'CanaryOn',
      Properties: {
        ComputePlatform: 'Lambda',
        TrafficRoutingConfig: {
          Type: 'TimeBasedCanary',
          TimeBasedCanary: { CanaryPercentage: '${param:canaryPercent}', CanaryInterval: '${param:canaryMinutes}' },
        },
      },
    },
    // Moves the stack's aliases and reads their alarms; nothing else.
    CodeDeployRole: role(
      { Service: ['codedeploy.amazonaws.com'] },
      'qpipe-deployments',
      [
        {
          Effect: 'Allow',
          Action: ['lambda:GetAlias', 'lambda:UpdateAlias', 'lambda:GetProvisionedConcurrencyConfig'],
          Resource: {
            'Fn::Sub':
              'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${self:service}-${sls:stage}-*',
          },
        },
        {
          Effect: 'Allow',
          Action: ['cloudwatch:DescribeAlarms'],
          Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*' },
        },
      ],
      forThisAccount,
    ),
    ...groups,
  };
}
