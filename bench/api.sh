#!/bin/sh
# bench/api.pl under its issue's name: see there for the environment.
exec perl "$(dirname "$0")/api.pl" "$@"
