"""Prepares (never sends) an HTTP request with requests, and summarises it with the shared code."""
import requests
from shared_py import summary


def lambda_handler(event, context):
    prepared = requests.Request("GET", event["url"], params=event["params"]).prepare()
    return {"url": prepared.url, "summary": summary(event["params"]), "certifi": bool(requests.certs.where())}
