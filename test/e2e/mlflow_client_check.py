"""Drives the real MLflow deployments client against a gateway and prints ONE JSON object.

Usage: python mlflow_client_check.py GATEWAY_URL

Each step's outcome is either {"ok": <result>} or {"error": {...}} so the caller asserts on values.
The endpoint names are the ones the e2e spec (mlflow-client.e2e-spec.ts) configures.
"""

import json
import sys

import requests

import mlflow
from mlflow.deployments import get_deploy_client
from mlflow.exceptions import MlflowException


def describe_error(error):
    response = getattr(error, "response", None)
    return {
        "type": type(error).__name__,
        "module": type(error).__module__,
        "is_mlflow_exception": isinstance(error, MlflowException),
        "is_http_error": isinstance(error, requests.exceptions.HTTPError),
        "status_code": response.status_code if response is not None else None,
        "message": str(error),
    }


def step(call):
    try:
        return {"ok": call()}
    except Exception as error:  # noqa: BLE001 - every failure is reported, not raised
        return {"error": describe_error(error)}


def main(url):
    client = get_deploy_client(url)
    chat = {"messages": [{"role": "user", "content": "hello from mlflow"}], "temperature": 0}
    results = {
        "mlflow_version": mlflow.__version__,
        "client_class": type(client).__name__,
        "list_endpoints": step(lambda: [e.model_dump(mode="json") for e in client.list_endpoints()]),
        "get_endpoint": step(lambda: client.get_endpoint("chat").model_dump(mode="json")),
        "get_endpoint_route": step(lambda: client.get_endpoint("split-route").model_dump(mode="json")),
        "get_endpoint_unknown": step(lambda: client.get_endpoint("no-such-endpoint").model_dump(mode="json")),
        "predict_chat": step(lambda: client.predict(endpoint="chat", inputs=chat)),
        "predict_completions": step(
            lambda: client.predict(endpoint="completions", inputs={"prompt": "say this", "max_tokens": 5})
        ),
        "predict_embeddings": step(
            lambda: client.predict(endpoint="embeddings", inputs={"input": ["one two", "three"]})
        ),
        "predict_pinned_route": step(lambda: client.predict(endpoint="pinned-route", inputs=chat)),
        "predict_split_route": step(lambda: client.predict(endpoint="split-route", inputs=chat)),
        "predict_unknown": step(lambda: client.predict(endpoint="no-such-endpoint", inputs=chat)),
        "predict_upstream_400": step(lambda: client.predict(endpoint="too-long", inputs=chat)),
        "predict_stream": step(lambda: list(client.predict_stream(endpoint="chat", inputs=chat))),
    }
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: mlflow_client_check.py GATEWAY_URL")
    main(sys.argv[1])
