"""lamina e2e app: protobuf messages from two distributions sharing the `google` namespace package."""
from google.protobuf import json_format, struct_pb2, timestamp_pb2
from google.rpc import code_pb2, status_pb2
from google.type import date_pb2


def lambda_handler(event, context):
    date = date_pb2.Date(year=event["year"], month=event["month"], day=event["day"])
    stamp = timestamp_pb2.Timestamp(seconds=event["seconds"])
    labels = struct_pb2.Struct()
    labels.update(event["labels"])
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message="bad date")
    wire = status.SerializeToString()
    return {
        "date": json_format.MessageToDict(date),
        "timestamp": stamp.ToJsonString(),
        "labels": json_format.MessageToDict(labels),
        "status": json_format.MessageToDict(status_pb2.Status.FromString(wire)),
        "wire_bytes": len(wire),
    }
