"""lamina corpus app: records an order in DynamoDB and notifies a webhook, with a vendored boto3
and requests. Offline: each AWS call is answered by a `before-send` hook with a canned response,
and the webhook request is prepared, never sent."""
import json
from decimal import Decimal

import boto3
import requests
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

SESSION = boto3.session.Session(
    aws_access_key_id="AKIDEXAMPLE",
    aws_secret_access_key="example-secret",
    region_name="eu-west-1",
)
DYNAMODB = SESSION.client("dynamodb")
SQS = SESSION.client("sqs")
SENT = []


class _Raw:
    """The raw body botocore reads a canned response from."""

    def __init__(self, body):
        self._body = body

    def stream(self, **_kwargs):
        yield self._body


def _answer(request, **_kwargs):
    SENT.append(
        {
            "method": request.method,
            "url": request.url,
            "target": request.headers.get("X-Amz-Target", b"").decode() or None,
            "body": request.body.decode() if isinstance(request.body, bytes) else request.body,
        }
    )
    if "ConditionalCheckFailed" in str(request.body):
        body = json.dumps(
            {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "message": "exists"}
        ).encode()
        return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))
    if "dynamodb" in request.url:
        body = b'{"ConsumedCapacity": {"TableName": "orders", "CapacityUnits": 1.0}}'
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))
    body = b'{"MessageId": "5fea7756-0ea4-451a-a703-a558b933e274", "MD5OfMessageBody": "e2e"}'
    return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))


for client in (DYNAMODB, SQS):
    client.meta.events.register("before-send", _answer)


def lambda_handler(event, context):
    SENT.clear()
    serializer, deserializer = TypeSerializer(), TypeDeserializer()
    order = json.loads(event["body"], parse_float=Decimal)
    item = {key: serializer.serialize(value) for key, value in order.items()}
    put = DYNAMODB.put_item(
        TableName="orders",
        Item=item,
        ConditionExpression="attribute_not_exists(id)",
        ReturnConsumedCapacity="TOTAL",
    )
    try:
        DYNAMODB.put_item(TableName="orders", Item=item, ConditionExpression="ConditionalCheckFailed")
        duplicate = None
    except ClientError as error:
        duplicate = error.response["Error"]["Code"]
    message = SQS.send_message(
        QueueUrl="https://sqs.eu-west-1.amazonaws.com/123456789012/orders", MessageBody=event["body"]
    )
    webhook = requests.Request(
        "POST", "https://hooks.example.com/orders", json={"id": order["id"]}, params={"v": "2"}
    ).prepare()
    return {
        "capacity": put["ConsumedCapacity"]["CapacityUnits"],
        "duplicate": duplicate,
        "message_id": message["MessageId"],
        "round_trip": json.loads(
            json.dumps({key: deserializer.deserialize(value) for key, value in item.items()}, default=str)
        ),
        "requests": SENT,
        "webhook": {"url": webhook.url, "body": webhook.body.decode()},
        "versions": {"boto3": boto3.__version__, "requests": requests.__version__},
    }
