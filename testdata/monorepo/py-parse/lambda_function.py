"""Parses URLs with urllib3, encodes hosts with idna and dates with dateutil."""
import idna
from dateutil import parser
from urllib3.util import parse_url
from shared_py import summary


def lambda_handler(event, context):
    url = parse_url(event["url"])
    return {
        "host": idna.encode(url.host).decode(),
        "path": url.path,
        "when": parser.isoparse(event["when"]).isoformat(),
        "summary": summary({"scheme": url.scheme, "port": url.port}),
    }
