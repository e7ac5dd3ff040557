// Infrastructure: the greeter function behind a function URL. The asset is this project's
// folder, handler lambda/greeter.handler.
import * as path from 'node:path';
import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export class GreeterStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const greeter = new lambda.Function(this, 'Greeter', {
      runtime: lambda.Runtime.NODEJS_20_X,
      handler: 'lambda/greeter.handler',
      code: lambda.Code.fromAsset(path.join(__dirname, '..'), {
        exclude: ['cdk.out', 'bin', 'lib', 'test', '*.ts'],
      }),
      memorySize: 256,
      timeout: Duration.seconds(10),
      logRetention: logs.RetentionDays.ONE_WEEK,
      environment: { GREETING_LOCALE: 'fr' },
    });

    const url = greeter.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    new CfnOutput(this, 'GreeterUrl', { value: url.url });
  }
}
