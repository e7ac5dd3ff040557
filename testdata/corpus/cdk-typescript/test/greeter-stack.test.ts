// A snapshot of the synthesised template, as `cdk init` projects keep one.
import * as cdk from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { GreeterStack } from '../lib/greeter-stack';

test('the greeter function is declared', () => {
  const app = new cdk.App();
  const template = Template.fromStack(new GreeterStack(app, 'TestStack'));
  template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'lambda/greeter.handler' });
});
