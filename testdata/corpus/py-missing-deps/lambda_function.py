"""lamina corpus app: a handler whose requirements were never installed. numpy is imported at
module level, so on Lambda every invocation fails with "No module named 'numpy'"."""
import json

import numpy as np


def lambda_handler(event, context):
    values = np.array(event["values"], dtype=float)
    return {"mean": float(values.mean()), "std": float(values.std()), "body": json.dumps(event)}
