"""lamina e2e app: render a jinja2 template; pytest and black leaked into the requirements."""
from jinja2 import Environment, DictLoader, select_autoescape

TEMPLATE = """<h1>{{ title }}</h1>
<ul>{% for n in numbers %}{% if n is odd %}<li>{{ n }} is odd</li>{% elif n is divisibleby 3 %}<li>{{ n }} divides by 3</li>{% endif %}{% endfor %}</ul>"""


def lambda_handler(event, context):
    environment = Environment(loader=DictLoader({"page.html": TEMPLATE}), autoescape=select_autoescape())
    page = environment.get_template("page.html").render(**event)
    return {"html": page, "tests": sorted(environment.tests)[:8]}
