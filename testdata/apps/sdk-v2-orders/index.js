//! lamina e2e app: an order intake function written for the AWS SDK for JavaScript v2, which
//! Lambda's Node 18+ runtimes no longer provide, so it ships in the zip (about 100 MB installed,
//! most of it one API model per AWS service). It builds, offline, the requests it would send:
//! the order to S3, its row through the DynamoDB DocumentClient, a message to SQS. Building a
//! request (`req.build()`) loads the service's model and serialises the call; nothing is sent.
const AWS = require('aws-sdk');

// Fixed credentials and region: nothing here resolves the credential chain or calls AWS.
const config = {
  region: 'eu-west-1',
  credentials: new AWS.Credentials('AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'),
};
const s3 = new AWS.S3(config);
const orders = new AWS.DynamoDB.DocumentClient(config);
const sqs = new AWS.SQS(config);

function built(request) {
  request.build();
  const { method, path, headers, body } = request.httpRequest;
  return {
    method,
    path,
    target: headers['X-Amz-Target'] || null,
    contentType: headers['Content-Type'] || null,
    body: typeof body === 'string' ? body : String(body),
  };
}

exports.handler = async (event) => {
  const order = { ...event.order, total: event.order.items.reduce((sum, item) => sum + item.qty * item.price, 0) };
  return {
    sdk: AWS.VERSION.split('.')[0],
    archive: built(
      s3.putObject({
        Bucket: event.bucket,
        Key: `orders/${order.id}.json`,
        Body: JSON.stringify(order),
        ContentType: 'application/json',
      }),
    ),
    row: built(orders.put({ TableName: event.table, Item: order })),
    notice: built(
      sqs.sendMessage({
        QueueUrl: event.queueUrl,
        MessageBody: JSON.stringify({ orderId: order.id, total: order.total }),
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'order-placed' } },
      }),
    ),
    marshalled: AWS.DynamoDB.Converter.marshall({ id: order.id, total: order.total }),
  };
};
