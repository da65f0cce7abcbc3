# Baseline (bench/README.md): the reference recipe's Gunicorn settings (its "Gunicorn" section),
# serving the same demo app as ours. Started as `gunicorn -c gunicorn_config.py demo_app:application`.
bind = "0.0.0.0:8000"
workers = 4  # the recipe: start at 2 x cores + 1
worker_class = "gevent"
worker_connections = 1000
loglevel = "info"
accesslog = "-"
errorlog = "-"
max_requests = 5000
max_requests_jitter = 500
chdir = "/opt/app/demo"
