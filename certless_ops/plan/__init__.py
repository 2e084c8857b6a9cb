"""The offline plan: run the Pulumi program under Pulumi's mock engine against a simulated Azure."""
