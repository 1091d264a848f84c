/**
 * An osls plugin (bundled to .build/osls/live-alias-plugin.mjs by infra/aws/bundle.ts): every
 * function gets an alias `live` on the version osls publishes, and every event source invokes
 * the alias, never $LATEST. The alias moves under CodeDeploy (its UpdatePolicy), so a deploy
 * shifts traffic as the function's deployment group says: all at once, or a canary share of
 * invocations to the new version for some minutes, rolled back when the function's alarms fire.
 * A plugin, because the version's logical ID carries a hash of the code known only at packaging.
 *
 * serverless.yml's `custom.liveAlias` names the CodeDeploy application and each function's
 * deployment group (resources of the template, infra/aws/render.ts).
 */

interface LiveAliasSettings {
  readonly name: string;
  readonly application: string;
  /** Function name to its deployment group's logical ID. */
  readonly deploymentGroups: Record<string, string>;
}

interface FunctionObject {
  targetAlias?: { name: string; logicalId: string };
}

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  UpdatePolicy?: unknown;
}

interface Serverless {
  service: {
    custom?: { liveAlias?: LiveAliasSettings };
    getFunction(name: string): FunctionObject;
    provider: { compiledCloudFormationTemplate: { Resources: Record<string, Resource> } };
  };
  getProvider(name: 'aws'): { naming: { getLambdaLogicalId(functionName: string): string } };
}

/** The alias's logical ID: the function's (ValidateLambdaFunction) with LiveAlias. */
export const aliasLogicalId = (functionLogicalId: string) => `${functionLogicalId}LiveAlias`;

export default class LiveAliasPlugin {
  readonly hooks: Record<string, () => void>;

  constructor(private readonly serverless: Serverless) {
    this.hooks = {
      // Before the functions compile: osls then points every event source and the on-failure
      // configuration at the alias (its targetAlias support).
      'before:package:compileFunctions': () => this.targetAliases(),
      // After: the versions exist; the aliases follow them.
      'after:package:compileFunctions': () => this.addAliases(),
    };
  }

  private settings(): LiveAliasSettings | undefined {
    return this.serverless.service.custom?.liveAlias;
  }

  private functionLogicalId(name: string): string {
    return this.serverless.getProvider('aws').naming.getLambdaLogicalId(name);
  }

  private targetAliases(): void {
    const settings = this.settings();
    if (!settings) return;
    for (const name of Object.keys(settings.deploymentGroups)) {
      this.serverless.service.getFunction(name).targetAlias = {
        name: settings.name,
        logicalId: aliasLogicalId(this.functionLogicalId(name)),
      };
    }
  }

  private addAliases(): void {
    const settings = this.settings();
    if (!settings) return;
    const resources = this.serverless.service.provider.compiledCloudFormationTemplate.Resources;
    for (const [name, deploymentGroup] of Object.entries(settings.deploymentGroups)) {
      const functionLogicalId = this.functionLogicalId(name);
      const version = Object.entries(resources).find(
        ([, r]) =>
          r.Type === 'AWS::Lambda::Version' &&
          (r.Properties?.['FunctionName'] as { Ref?: string } | undefined)?.Ref === functionLogicalId,
      )?.[0];
      if (!version)
        throw new Error(`live alias: no published version of function ${name} (versionFunctions must stay on)`);
      resources[aliasLogicalId(functionLogicalId)] = {
        Type: 'AWS::Lambda::Alias',
        DependsOn: [functionLogicalId, deploymentGroup],
        Properties: {
          FunctionName: { Ref: functionLogicalId },
          FunctionVersion: { 'Fn::GetAtt': [version, 'Version'] },
          Name: settings.name,
        },
        UpdatePolicy: {
          CodeDeployLambdaAliasUpdate: {
            ApplicationName: { Ref: settings.application },
            DeploymentGroupName: { Ref: deploymentGroup },
          },
        },
      };
    }
  }
}
