"""Test helper for the Model Registry e2e suite, run with the repo's .venv (scripts/setup-python.sh).

  train <tracking_uri>
      Trains two tiny scikit-learn regressors whose predictions differ (y = x and y = 10x), registers
      them as versions 1 and 2 of `churn`, and registers version 1's model again as `sentiment`
      (version 1). Prints {"churn": ["1", "2"], "sentiment": ["1"]}.
  copy <tracking_uri> <name> <version>
      Registers the model behind <name> version <version> once more, as the next version of <name>
      (same artifacts). Prints {"version": "<new version>"}.
  client <gateway_url> <endpoint>
      Drives mlflow.deployments.get_deploy_client(<gateway_url>): list_endpoints(), get_endpoint()
      and predict() on a predict endpoint. Prints the results as one JSON object.
"""

import contextlib
import json
import sys


def train(tracking_uri):
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LinearRegression

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("gatehouse-registry-e2e")
    x = pd.DataFrame({"x": np.arange(1.0, 11.0)})
    versions = {}
    first_model_uri = None
    for slope in (1.0, 10.0):
        model = LinearRegression().fit(x, x["x"] * slope)
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name="churn",
                signature=infer_signature(x, model.predict(x)),
                # Skips requirement inference (slow); `--env-manager local` installs nothing anyway.
                pip_requirements=["scikit-learn"],
            )
        versions.setdefault("churn", []).append(str(info.registered_model_version))
        first_model_uri = first_model_uri or info.model_uri
    sentiment = mlflow.register_model(first_model_uri, "sentiment")
    versions["sentiment"] = [str(sentiment.version)]
    return versions


def copy(tracking_uri, name, version):
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    source = MlflowClient().get_model_version(name, version).source
    registered = mlflow.register_model(source, name)
    return {"version": str(registered.version)}


def client(gateway_url, endpoint):
    from mlflow.deployments import get_deploy_client

    deploy = get_deploy_client(gateway_url)
    listed = [e.model_dump(mode="json") for e in deploy.list_endpoints()]
    got = deploy.get_endpoint(endpoint).model_dump(mode="json")
    prediction = deploy.predict(
        endpoint=endpoint,
        inputs={"dataframe_split": {"columns": ["x"], "data": [[2.0], [4.0]]}},
    )
    return {"list_endpoints": listed, "get_endpoint": got, "predict": dict(prediction)}


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    out = sys.stdout
    # MLflow prints run links on stdout; only the final JSON object goes there.
    with contextlib.redirect_stdout(sys.stderr):
        result = {"train": train, "copy": copy, "client": client}[command](*args)
    out.write(json.dumps(result, default=str) + "\n")
