"""lamina e2e app: validate orders with pydantic and prepare (never send) an HTTP request with requests."""
import certifi
import requests
from pydantic import BaseModel, Field, ValidationError, field_validator


class Order(BaseModel):
    id: int
    item: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    email: str

    @field_validator("email")
    @classmethod
    def has_at(cls, value):
        if "@" not in value:
            raise ValueError("not an e-mail address")
        return value


def lambda_handler(event, context):
    valid, errors = [], []
    for raw in event["orders"]:
        try:
            valid.append(Order(**raw).model_dump())
        except ValidationError as error:
            errors.append(sorted((".".join(map(str, e["loc"])), e["type"]) for e in error.errors()))
    request = requests.Request(
        "POST", "https://orders.example.com/v1/orders", json=valid, params={"source": "lambda"}
    ).prepare()
    # certifi's bundle is a data file read at run time.
    with open(certifi.where(), encoding="ascii") as bundle:
        certificates = bundle.read().count("BEGIN CERTIFICATE")
    return {
        "valid": valid,
        "errors": errors,
        "url": request.url,
        "body": request.body.decode(),
        "content_type": request.headers["Content-Type"],
        "has_certificates": certificates > 100,
        "schema": Order.model_json_schema()["required"],
    }
