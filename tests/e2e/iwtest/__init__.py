"""Test helpers for imgwatch's end-to-end suite.

The package starts real components on 127.0.0.1 (docker-registry, a JWT token
issuer), builds and pushes OCI images with umoci and skopeo, and tears all of it
down again.  tests/e2e/conftest.py turns these helpers into pytest fixtures;
docs/testing.md explains how to use them.
"""
