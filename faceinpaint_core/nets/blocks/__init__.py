"""nets/blocks"""
