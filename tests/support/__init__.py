"""What the tests share: local servers, a fake GitHub, git repositories, sample projects."""
