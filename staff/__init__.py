"""Staff accounts: the admin site's login with a second factor, the failed-login
lockout (django-axes), and the operators' `manage.py staff_2fa` command."""
