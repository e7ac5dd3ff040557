"""lamina corpus app: a REST API handler on AWS Lambda Powertools, its structured logger fed by
the Lambda context (`@logger.inject_lambda_context`) and its routes by APIGatewayRestResolver."""
import io
import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

# The log lines are kept in memory so the handler can return them (without their timestamps):
# what the context put into them is part of the answer.
LOG_STREAM = io.StringIO()
logger = Logger(service="bookings", stream=LOG_STREAM)
app = APIGatewayRestResolver()

ROOMS = {"blue": {"seats": 8, "floor": 2}, "green": {"seats": 4, "floor": 3}}


@app.get("/rooms/<name>")
def get_room(name: str):
    room = ROOMS.get(name)
    if room is None:
        raise NotFoundError(f"no room {name}")
    logger.info("room found", extra={"room": name})
    return {"name": name, **room}


@app.post("/rooms/<name>/bookings")
def book_room(name: str):
    booking = app.current_event.json_body
    if booking["people"] > ROOMS[name]["seats"]:
        logger.warning("room too small", extra={"room": name, "people": booking["people"]})
        return {"booked": False, "reason": "too small"}
    logger.info("booked", extra={"room": name, "people": booking["people"]})
    return {"booked": True, "room": name, "slot": booking["slot"]}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    LOG_STREAM.seek(0)
    LOG_STREAM.truncate()
    response = app.resolve(event, context)
    logs = []
    for line in LOG_STREAM.getvalue().splitlines():
        record = json.loads(line)
        record.pop("timestamp", None)
        logs.append(record)
    return {"response": response, "logs": logs}
