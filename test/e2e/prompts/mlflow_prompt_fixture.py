"""Test helper: writes to MLflow's Prompt Registry the way a prompt engineer would (repo .venv).

  register <tracking_uri> <name> <template>   template: text, or a JSON list of chat messages
      Registers a new version of prompt <name>. Prints {"version": N}.
  alias <tracking_uri> <name> <alias> <version>
      Points <alias> at <version>. Prints {"ok": true}.
"""

import json
import sys


def main():
    import mlflow

    command, tracking_uri = sys.argv[1], sys.argv[2]
    mlflow.set_tracking_uri(tracking_uri)
    if command == "register":
        name, template = sys.argv[3], sys.argv[4]
        if template.startswith("["):
            template = json.loads(template)
        prompt = mlflow.genai.register_prompt(name=name, template=template, commit_message="e2e")
        print(json.dumps({"version": int(prompt.version)}))
    elif command == "alias":
        name, alias, version = sys.argv[3], sys.argv[4], int(sys.argv[5])
        mlflow.genai.set_prompt_alias(name, alias=alias, version=version)
        print(json.dumps({"ok": True}))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
