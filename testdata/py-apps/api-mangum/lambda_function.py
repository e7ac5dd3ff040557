"""lamina e2e app: a FastAPI service behind API Gateway through Mangum, as teams deploy one, with
the helpers such services carry (Jinja2 templates, YAML, dateutil, simplejson)."""
from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel
import jinja2
import yaml
import dateutil.parser
import simplejson

app = FastAPI()


class Order(BaseModel):
    item: str
    quantity: int


@app.get("/orders/{order_id}")
def get_order(order_id: int):
    env = jinja2.Environment()
    text = env.from_string("order {{ n }}").render(n=order_id)
    parsed = yaml.safe_load("a: [1, 2]")
    when = dateutil.parser.isoparse("2024-03-09T10:00:00Z").isoformat()
    return {"text": text, "yaml": parsed, "when": when, "json": simplejson.dumps({"x": 1.5})}


lambda_handler = Mangum(app, lifespan="off")
