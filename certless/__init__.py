"""certless: certificateless Microsoft Entra tokens from the AzureAd settings."""
