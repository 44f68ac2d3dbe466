// Evidence module
